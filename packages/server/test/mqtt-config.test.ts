import { test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { ConfigError, loadConfig } from '../src/config.ts'
import { generateSelfSignedCertificate } from '../src/lib/certificate.ts'
import { startMqttBroker } from '../src/mqtt/broker.ts'
import { startTestApp } from './helpers/app.ts'
import { connect } from './helpers/mqtt.ts'

test('MQTT settings: TLS on 8883 by default or "off", plain TCP only when set, host from HOST', () => {
  const defaults = loadConfig({ HOST: '127.0.0.1' }).mqtt
  const limits = { maxPacket: 1024 * 1024, preConnectBytes: 16 * 1024, connectTimeout: 10, unauthenticatedPerAddress: 64 }
  assert.deepEqual(defaults, { tlsPort: 8883, plainPort: null, host: '127.0.0.1', certFile: undefined, keyFile: undefined, ...limits })
  const set = loadConfig({
    MQTT_TLS_PORT: 'off',
    MQTT_PORT: '1883',
    MQTT_HOST: '::1',
    MQTT_CERT: 'a.crt',
    MQTT_KEY: 'a.key',
    MQTT_MAX_PACKET: '65536',
    MQTT_PRE_CONNECT_BYTES: '4096',
    MQTT_CONNECT_TIMEOUT: '2',
    MQTT_UNAUTHENTICATED_PER_ADDRESS: '3',
  }).mqtt
  assert.deepEqual(set, {
    tlsPort: null,
    plainPort: 1883,
    host: '::1',
    certFile: path.resolve('a.crt'),
    keyFile: path.resolve('a.key'),
    maxPacket: 65536,
    preConnectBytes: 4096,
    connectTimeout: 2,
    unauthenticatedPerAddress: 3,
  })
  assert.equal(loadConfig({ MQTT_TLS_PORT: '0' }).mqtt.tlsPort, 0)
  for (const [env, name] of [
    [{ MQTT_TLS_PORT: 'tls' }, 'MQTT_TLS_PORT'],
    [{ MQTT_PORT: '70000' }, 'MQTT_PORT'],
    [{ MQTT_CERT: 'a.crt' }, 'MQTT_CERT'],
    [{ MQTT_KEY: 'a.key' }, 'MQTT_KEY'],
    [{ MQTT_MAX_PACKET: '1mb' }, 'MQTT_MAX_PACKET'],
    [{ MQTT_PRE_CONNECT_BYTES: '10' }, 'MQTT_PRE_CONNECT_BYTES'],
    [{ MQTT_CONNECT_TIMEOUT: '0' }, 'MQTT_CONNECT_TIMEOUT'],
    [{ MQTT_UNAUTHENTICATED_PER_ADDRESS: '-1' }, 'MQTT_UNAUTHENTICATED_PER_ADDRESS'],
  ] as const) {
    assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && err.message.includes(name) && !err.message.includes('\n'))
  }
})

test('without MQTT_CERT, a self-signed certificate for localhost and PUBLIC_URL\'s host is made once and kept in DATA_DIR', async (t) => {
  const s = await startTestApp(t, { PUBLIC_URL: 'https://cloud.example.test:8443' })
  const first = await startMqttBroker({ services: s.app.services, config: s.config, log: s.app.log, ports: { tls: 0, plain: null } })
  await first.close()
  const kept = fs.readFileSync(path.join(s.config.dataDir, 'mqtt.crt'), 'utf8')
  assert.equal(first.certificate, kept)
  assert.deepEqual(
    new X509Certificate(kept).subjectAltName?.split(', ').sort(),
    ['DNS:cloud.example.test', 'DNS:localhost', 'IP Address:0:0:0:0:0:0:0:1', 'IP Address:127.0.0.1'],
  )
  assert.equal(fs.statSync(path.join(s.config.dataDir, 'mqtt.key')).mode & 0o777, 0o600)
  const second = await startMqttBroker({ services: s.app.services, config: s.config, log: s.app.log, ports: { tls: 0, plain: null } })
  s.app.mqtt = second
  assert.equal(second.certificate, kept)
  assert.equal(second.plainPort, null)
  const { uid } = await s.createUser('owner@example.com')
  const session = await connect(second, `u_${uid}`, (await s.login('owner@example.com')).accessToken)
  await session.end()
})

test('MQTT_CERT and MQTT_KEY are what the TLS listener presents', async (t) => {
  const s = await startTestApp(t)
  const pair = await generateSelfSignedCertificate('mqtt.example.test')
  const certFile = path.join(s.config.dataDir, 'given.crt')
  const keyFile = path.join(s.config.dataDir, 'given.key')
  fs.writeFileSync(certFile, pair.cert)
  fs.writeFileSync(keyFile, pair.key)
  const config = { ...s.config, mqtt: { ...s.config.mqtt, certFile, keyFile } }
  const broker = await startMqttBroker({ services: s.app.services, config, log: s.app.log, ports: { tls: 0, plain: null } })
  s.app.mqtt = broker
  assert.equal(broker.certificate, pair.cert)
  assert.ok(!fs.existsSync(path.join(s.config.dataDir, 'mqtt.crt')))
  const { uid } = await s.createUser('owner@example.com')
  // Trusting only the given certificate.
  const session = await connect(broker, `u_${uid}`, (await s.login('owner@example.com')).accessToken)
  await session.end()

  const missing = { ...s.config, mqtt: { ...s.config.mqtt, certFile: path.join(s.config.dataDir, 'nope.crt'), keyFile } }
  await assert.rejects(startMqttBroker({ services: s.app.services, config: missing, log: s.app.log, ports: { tls: 0 } }), /MQTT_CERT: cannot read/)
})

test('a port already in use stops the start with a message naming the setting', async (t) => {
  const s = await startTestApp(t)
  const broker = await startMqttBroker({ services: s.app.services, config: s.config, log: s.app.log, ports: { tls: null, plain: 0 } })
  s.app.mqtt = broker
  await assert.rejects(
    startMqttBroker({ services: s.app.services, config: s.config, log: s.app.log, ports: { tls: null, plain: broker.plainPort } }),
    /MQTT_PORT \d+: address in use/,
  )
})
