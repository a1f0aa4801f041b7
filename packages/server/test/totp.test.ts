import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { base32Decode, base32Encode } from '../src/lib/base32.ts'
import { TOTP_DIGITS, TOTP_STEP_SECONDS, generateTotpSecret, hotp, matchTotp, totpCode, totpStep } from '../src/lib/totp.ts'

/** RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", in base32. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'

/** RFC 6238 appendix B, SHA-1 column: time in seconds -> the 8-digit code. */
const RFC_VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
]

test('the RFC 6238 seed encodes to the base32 secret authenticator apps are given', () => {
  assert.equal(base32Encode(Buffer.from('12345678901234567890', 'ascii')), RFC_SECRET)
  assert.equal(base32Decode(RFC_SECRET).toString('ascii'), '12345678901234567890')
})

test('totpCode matches the RFC 6238 SHA-1 vectors (their last 6 digits)', () => {
  assert.equal(TOTP_DIGITS, 6)
  assert.equal(TOTP_STEP_SECONDS, 30)
  for (const [seconds, rfc] of RFC_VECTORS) {
    const expected = rfc.slice(-6)
    assert.equal(totpCode(RFC_SECRET, seconds * 1000), expected, `T=${seconds}`)
    assert.equal(hotp(RFC_SECRET, Math.floor(seconds / 30)), expected, `counter of T=${seconds}`)
  }
})

test('codes keep their leading zeros', () => {
  const code = totpCode(RFC_SECRET, 1234567890 * 1000)
  assert.equal(code, '005924')
  assert.equal(typeof code, 'string')
  assert.equal(code.length, 6)
})

test('totpStep counts 30-second steps from the epoch', () => {
  assert.equal(totpStep(0), 0)
  assert.equal(totpStep(29_999), 0)
  assert.equal(totpStep(30_000), 1)
  assert.equal(totpStep(59_000), 1)
  assert.equal(totpStep(1111111109 * 1000), 37037036)
  assert.equal(totpStep(20000000000 * 1000), 666666666)
})

test('base32 encodes the RFC 4648 vectors without padding', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ]
  for (const [plain, encoded] of vectors) {
    assert.equal(base32Encode(Buffer.from(plain, 'ascii')), encoded, plain)
    assert.equal(base32Decode(encoded).toString('ascii'), plain, encoded)
  }
})

test('base32 round-trips bytes of every length and value', () => {
  for (let length = 0; length <= 41; length++) {
    const data = randomBytes(length)
    const text = base32Encode(data)
    assert.match(text, /^[A-Z2-7]*$/)
    assert.equal(text.length, Math.ceil((length * 8) / 5))
    assert.deepEqual(base32Decode(text), data, `length ${length}`)
  }
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  assert.deepEqual(base32Decode(base32Encode(all)), all)
  assert.deepEqual(base32Decode(base32Encode(Buffer.alloc(20, 0xff))), Buffer.alloc(20, 0xff))
  assert.deepEqual(base32Decode(base32Encode(Buffer.alloc(20, 0))), Buffer.alloc(20, 0))
})

test('base32 decoding takes lower case, padding, spaces and dashes as apps show them', () => {
  const seed = '12345678901234567890'
  assert.equal(base32Decode(RFC_SECRET.toLowerCase()).toString('ascii'), seed)
  assert.equal(base32Decode('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ').toString('ascii'), seed)
  assert.equal(base32Decode('GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ').toString('ascii'), seed)
  assert.equal(base32Decode('MZXW6YQ=').toString('ascii'), 'foob')
  assert.equal(base32Decode('MY======').toString('ascii'), 'f')
})

test('base32 decoding refuses characters outside the alphabet', () => {
  for (const bad of ['MZXW6YQ1', '0AAA', 'MZXW8', 'MZ!W6', 'ÄAAA']) {
    assert.throws(() => base32Decode(bad), /invalid base32 character/, bad)
  }
})

test('a generated secret is 160 bits in base32, and differs each time', () => {
  const a = generateTotpSecret()
  const b = generateTotpSecret()
  assert.match(a, /^[A-Z2-7]{32}$/)
  assert.equal(base32Decode(a).length, 20)
  assert.notEqual(a, b)
  assert.match(totpCode(a, 0), /^\d{6}$/)
})

test('matchTotp answers the step of the matching code within one step either side', () => {
  const now = 1111111111 * 1000
  const step = totpStep(now)
  for (const offset of [-1, 0, 1]) {
    const code = hotp(RFC_SECRET, step + offset)
    assert.equal(matchTotp(RFC_SECRET, code, now), step + offset, `offset ${offset}`)
  }
  for (const offset of [-3, -2, 2, 3]) {
    const code = hotp(RFC_SECRET, step + offset)
    assert.equal(matchTotp(RFC_SECRET, code, now), null, `offset ${offset}`)
  }
})

test('matchTotp follows the window it is given', () => {
  const now = 1234567890 * 1000
  const step = totpStep(now)
  assert.equal(matchTotp(RFC_SECRET, hotp(RFC_SECRET, step + 1), now, 0), null)
  assert.equal(matchTotp(RFC_SECRET, hotp(RFC_SECRET, step), now, 0), step)
  assert.equal(matchTotp(RFC_SECRET, hotp(RFC_SECRET, step - 2), now, 2), step - 2)
  assert.equal(matchTotp(RFC_SECRET, hotp(RFC_SECRET, step + 2), now, 2), step + 2)
  assert.equal(matchTotp(RFC_SECRET, hotp(RFC_SECRET, step + 3), now, 2), null)
})

test('matchTotp against the RFC vector at T=59 as time moves on', () => {
  assert.equal(matchTotp(RFC_SECRET, '287082', 59_000), 1)
  assert.equal(matchTotp(RFC_SECRET, '287082', 89_000), 1, 'one step later still in the window')
  assert.equal(matchTotp(RFC_SECRET, '287082', 119_000), null, 'two steps later out of it')
  assert.equal(matchTotp(RFC_SECRET, '287083', 59_000), null)
})

test('matchTotp refuses anything but exactly six ASCII digits', () => {
  const now = 59_000
  for (const bad of ['', '28708', '2870820', '94287082', '28708a', ' 287082', '287082 ', '287 082', '+287082', '２８７０８２', '287082\n']) {
    assert.equal(matchTotp(RFC_SECRET, bad, now), null, JSON.stringify(bad))
  }
  assert.equal(matchTotp(RFC_SECRET, '287082', now), 1)
})
