/**
 * Who is connected to the broker. A printer counts as online while it has at least one
 * session (a quick reconnect overlaps the old session's end, which must not take it
 * offline); a user's sessions end when the login behind them is revoked (here or, found
 * on a periodic re-check, by another server process) and when their token expires; a
 * printer's end when it is removed or its access code changes. A session ended here
 * leaves no will behind: its login was no longer good.
 */
import type { Client } from 'aedes'
import type { FastifyBaseLogger } from 'fastify'
import type { DeviceStateService } from '../services/device-state.ts'
import type { DeviceService } from '../services/devices.ts'
import type { Revocation, TokenService } from '../services/tokens.ts'
import { constantTimeEqual } from '../lib/secrets.ts'
import type { DeviceSession, Session, UserSession } from './access.ts'

/** setTimeout's longest delay; a token living longer is checked again then. */
const LONGEST_TIMER_MS = 2 ** 31 - 1

export class SessionRegistry {
  private readonly sessions = new Map<Client, Session>()
  /** Each user session's timer for its token's expiry. */
  private readonly expiries = new Map<Client, NodeJS.Timeout>()
  private readonly endedHere = new WeakSet<Client>()
  private readonly presence: Presence
  private readonly stopListening: (() => void)[]
  private readonly timer: NodeJS.Timeout
  private revalidating = false

  constructor(
    private readonly tokens: TokenService,
    private readonly devices: DeviceService,
    deviceState: DeviceStateService,
    private readonly log: FastifyBaseLogger,
    revalidateEveryMs = 30_000,
  ) {
    this.presence = new Presence(deviceState, log)
    this.stopListening = [
      tokens.revoked.on((revocation) => this.revoke(revocation)),
      // Unbinding clears `online`; a printer still connected is online again for its next owner.
      devices.ownerChanged.on((devId) => {
        this.presence.rewrite(devId)
        void this.recheckDevices([devId])
      }),
      devices.lanChanged.on((devId) => void this.recheckDevices([devId])),
    ]
    this.timer = setInterval(() => void this.revalidate(), revalidateEveryMs)
    this.timer.unref()
  }

  add(client: Client, session: Session): void {
    this.sessions.set(client, session)
    if (session.kind === 'device') this.presence.connected(session.devId)
    else this.expireAfter(client, session, session.expiresInMs)
  }

  /** Idempotent: a client may be reported gone twice (a takeover, then its socket closing). */
  remove(client: Client): void {
    const session = this.sessions.get(client)
    if (!session) return
    this.sessions.delete(client)
    clearTimeout(this.expiries.get(client))
    this.expiries.delete(client)
    if (session.kind === 'device') this.presence.disconnected(session.devId)
  }

  /** Whether this client's session was ended here (revoked, expired, printer changed): its will is not published. */
  ended(client: Client): boolean {
    return this.endedHere.has(client)
  }

  get size(): number {
    return this.sessions.size
  }

  /** Ends the sessions built on revoked logins. */
  revoke(revocation: Revocation): void {
    const ended = this.users((s) => ('loginId' in revocation ? s.loginId === revocation.loginId : s.uid === revocation.uid))
    for (const [client, session] of ended) this.end(client, session, 'login revoked')
  }

  /** Ends printers' sessions when the printer is gone or its access code is no longer the one they logged in with. */
  async recheckDevices(devIds: readonly string[]): Promise<void> {
    const wanted = new Set(devIds)
    const sessions = this.deviceSessions((s) => wanted.has(s.devId))
    if (sessions.length === 0) return
    try {
      const codes = await this.devices.accessCodesOf([...new Set(sessions.map(([, s]) => s.devId))])
      for (const [client, session] of sessions) {
        const code = codes.get(session.devId)
        if (code === undefined || !constantTimeEqual(code, session.accessCode)) this.end(client, session, 'device removed or access code changed')
      }
    } catch (err) {
      this.log.warn({ err }, 'mqtt: could not re-check device sessions')
    }
  }

  /** Re-checks each user session's token and each printer's access code; ends those no longer valid. */
  async revalidate(): Promise<void> {
    if (this.revalidating) return
    this.revalidating = true
    try {
      for (const [client, session] of this.users(() => true)) {
        if (client.closed) continue
        const principal = await this.tokens.authenticate(session.accessToken)
        if (principal?.uid !== session.uid) this.end(client, session, 'token no longer valid')
      }
      await this.recheckDevices(this.deviceSessions(() => true).map(([, s]) => s.devId))
    } catch (err) {
      // A database hiccup ends nobody's session; the next round checks again.
      this.log.warn({ err }, 'mqtt: could not re-check sessions')
    } finally {
      this.revalidating = false
    }
  }

  /** Stops checking and waits for presence changes still being written. */
  async close(): Promise<void> {
    clearInterval(this.timer)
    for (const timer of this.expiries.values()) clearTimeout(timer)
    this.expiries.clear()
    for (const stop of this.stopListening) stop()
    await this.presence.settled()
  }

  private users(match: (session: UserSession) => boolean): [Client, UserSession][] {
    const found: [Client, UserSession][] = []
    for (const [client, session] of this.sessions) if (session.kind === 'user' && match(session)) found.push([client, session])
    return found
  }

  private deviceSessions(match: (session: DeviceSession) => boolean): [Client, DeviceSession][] {
    const found: [Client, DeviceSession][] = []
    for (const [client, session] of this.sessions) if (session.kind === 'device' && match(session)) found.push([client, session])
    return found
  }

  /** Ends the session when its token expires (checked then, so a clock moved meanwhile is respected). */
  private expireAfter(client: Client, session: UserSession, ms: number): void {
    const timer = setTimeout(() => {
      this.expiries.delete(client)
      this.tokens.authenticate(session.accessToken).then(
        (principal) => {
          if (this.sessions.get(client) !== session) return
          if (principal?.uid !== session.uid) this.end(client, session, 'token expired')
          else this.expireAfter(client, session, principal.expiresInMs)
        },
        // The periodic re-check will find it.
        (err: unknown) => this.log.warn({ err }, 'mqtt: could not re-check an expiring session'),
      )
    }, Math.min(ms, LONGEST_TIMER_MS))
    timer.unref()
    this.expiries.set(client, timer)
  }

  private end(client: Client, session: Session, reason: string): void {
    this.endedHere.add(client)
    this.log.info(session.kind === 'user' ? { uid: session.uid, reason } : { devId: session.devId, reason }, 'mqtt: session ended')
    this.remove(client)
    client.close()
  }
}

/**
 * Writes `online` as session counts change: one write at a time per printer, with the
 * count as it is when the write starts, so the last write always matches the sessions.
 */
class Presence {
  private readonly counts = new Map<string, number>()
  /** What was last written for each printer. */
  private readonly written = new Map<string, boolean>()
  private readonly writing = new Map<string, Promise<void>>()
  private readonly dirty = new Set<string>()

  constructor(
    private readonly deviceState: DeviceStateService,
    private readonly log: FastifyBaseLogger,
  ) {}

  connected(devId: string): void {
    this.counts.set(devId, (this.counts.get(devId) ?? 0) + 1)
    this.schedule(devId)
  }

  disconnected(devId: string): void {
    const count = (this.counts.get(devId) ?? 1) - 1
    if (count > 0) this.counts.set(devId, count)
    else this.counts.delete(devId)
    this.schedule(devId)
  }

  /** Writes the printer's presence again, whatever was written last (someone else changed it). */
  rewrite(devId: string): void {
    this.written.delete(devId)
    if (this.counts.has(devId)) this.schedule(devId)
  }

  async settled(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing.values())
  }

  private schedule(devId: string): void {
    if (this.writing.has(devId)) {
      this.dirty.add(devId)
      return
    }
    // Started on the next turn: an old session ending and its successor starting land together.
    const work = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.write(devId))
    this.writing.set(devId, work)
    void work.finally(() => {
      this.writing.delete(devId)
      if (this.dirty.delete(devId)) this.schedule(devId)
    })
  }

  private async write(devId: string): Promise<void> {
    const online = this.counts.has(devId)
    if (this.written.get(devId) === online) return
    try {
      await this.deviceState.setOnline(devId, online)
      if (online) this.written.set(devId, true)
      else this.written.delete(devId)
    } catch (err) {
      // The device was removed while connected; nothing to mark.
      this.log.debug({ err, devId }, 'mqtt: could not record presence')
    }
  }
}
