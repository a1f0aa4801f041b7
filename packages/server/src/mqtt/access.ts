/**
 * Who may do what on the cloud broker. A user (`u_<uid>`, password an access token) reads
 * the reports of the printers it owns and sends them requests; a printer (its `dev_id`,
 * password its access code) sends its own reports and reads its own requests. Nothing
 * else. These rules need no database: where ownership matters they say which device's.
 */
import { parseDeviceTopic, reportTopic, requestTopic } from '@bambu-cloud/protocol'

export interface UserSession {
  kind: 'user'
  uid: number
  loginId: string
  /** Kept to check now and then that it is still valid (revoked elsewhere, expired). */
  accessToken: string
  /** What the token had left when the session began, milliseconds: it is checked again then. */
  expiresInMs: number
}

export interface DeviceSession {
  kind: 'device'
  devId: string
  /** Kept to end the session when the printer is removed or given another access code. */
  accessCode: string
}

export type Session = UserSession | DeviceSession

/** What a CONNECT claims to be, before the database confirms it. */
export type Credentials = { kind: 'user'; uid: number; accessToken: string } | { kind: 'device'; devId: string; accessCode: string }

/** Allowed, refused, or allowed only if the user owns this device. */
export type Access = 'allow' | 'deny' | { ownedDevice: string }

/** Longer passwords are junk: no token or access code comes near. */
const MAX_PASSWORD_BYTES = 4096

/** The largest report or request accepted, bytes; printers send a few tens of KB. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024

/** Reads a CONNECT's user name and password; null when they cannot be anyone's. */
export function credentialsOf(username: string | undefined, password: Buffer | undefined): Credentials | null {
  if (!username || !password || password.length === 0 || password.length > MAX_PASSWORD_BYTES) return null
  const secret = password.toString('utf8')
  const user = /^u_(\d{1,15})$/.exec(username)
  if (user) return { kind: 'user', uid: Number(user[1]), accessToken: secret }
  if (username.length > 128 || username.includes('/')) return null
  return { kind: 'device', devId: username, accessCode: secret }
}

/** Whether a topic filter can match some `device/<id>/report` (so a wildcard may be granted). */
export function filterReachesReports(filter: string): boolean {
  const levels = filter.split('/')
  const wanted = ['device', null, 'report']
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]
    if (level === '#') return true
    if (i >= wanted.length) return false
    if (level === '+') continue
    const expected = wanted[i]
    if (expected === null ? level === '' : level !== expected) return false
  }
  return levels.length === wanted.length
}

export function subscribeAccess(session: Session, filter: string): Access {
  if (session.kind === 'device') return filter === requestTopic(session.devId) ? 'allow' : 'deny'
  const topic = parseDeviceTopic(filter)
  if (topic) return topic.kind === 'report' ? { ownedDevice: topic.devId } : 'deny'
  // Granted, but each message is checked on delivery (see forwardAccess).
  return filterReachesReports(filter) ? 'allow' : 'deny'
}

export function publishAccess(session: Session, topic: string): Access {
  if (session.kind === 'device') return topic === reportTopic(session.devId) ? 'allow' : 'deny'
  const parsed = parseDeviceTopic(topic)
  return parsed?.kind === 'request' ? { ownedDevice: parsed.devId } : 'deny'
}

/** Whether a message on `topic` may reach this session (checked for every message delivered). */
export function forwardAccess(session: Session, topic: string): Access {
  if (session.kind === 'device') return topic === requestTopic(session.devId) ? 'allow' : 'deny'
  const parsed = parseDeviceTopic(topic)
  return parsed?.kind === 'report' ? { ownedDevice: parsed.devId } : 'deny'
}
