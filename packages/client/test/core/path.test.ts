import { test } from 'node:test'
import assert from 'node:assert/strict'
import { path, queryString } from '@bambu-cloud/client'

test('path encodes each parameter and leaves the literal parts alone', () => {
  assert.equal(path`/v1/iot-service/api/slicer/setting/${'PFUS01'}`, '/v1/iot-service/api/slicer/setting/PFUS01')
  assert.equal(path`/a/${'x/../y?z=1#h'}/b/${42}`, '/a/x%2F..%2Fy%3Fz%3D1%23h/b/42')
  assert.equal(path`/plain`, '/plain')
  assert.equal(path`/t/${'ä b'}`, '/t/%C3%A4%20b')
})

test('queryString leaves out undefined and null, and encodes keys and values', () => {
  assert.equal(queryString(undefined), '')
  assert.equal(queryString({ a: undefined, b: null }), '')
  assert.equal(queryString({ version: '01.10.00.89', public: false, limit: 0, x: undefined }), '?version=01.10.00.89&public=false&limit=0')
  assert.equal(queryString({ 'slicer/plugins/cloud': '1.0', q: 'a&b=c' }), '?slicer%2Fplugins%2Fcloud=1.0&q=a%26b%3Dc')
})
