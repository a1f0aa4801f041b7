import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { LightMyRequestResponse } from 'fastify'
import { PASSWORD, assertTokens, authenticatorCode, bearer, cookiesOf, startTestApp, type TestApp, type TestClock } from './helpers/app.ts'

/**
 * The sign-in page driven as a browser without JavaScript would: GET the page, read the
 * <form> out of the HTML, POST its fields URL-encoded, follow what comes back.
 */

const STUDIO_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/107.0.0.0 Safari/537.36 BBL-Slicer/v02.05.00.66 (light) BBL-Language/en'
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
const CALLBACK = /^http:\/\/localhost:13618\/\?ticket=([^&#]+)$/

// ---- reading HTML the way a browser would, with small regexes -------------------------

function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_m, e: string) =>
    ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[e]!,
  )
}

/** The attributes of one start tag (`<input a="b" required>`), values decoded. */
function attributesOf(tag: string): Record<string, string> {
  const inner = tag.replace(/^<[a-z]+/i, '').replace(/\/?>$/, '')
  const out: Record<string, string> = {}
  for (const m of inner.matchAll(/([^\s=>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g)) {
    out[m[1]!.toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '')
  }
  return out
}

interface Form {
  attrs: Record<string, string>
  action: string
  method: string
  inputs: Record<string, string>[]
  hidden: Record<string, string>
  visible: Record<string, string>[]
  buttons: string[]
}

function formsIn(html: string): Form[] {
  return [...html.matchAll(/(<form\b[^>]*>)([\s\S]*?)<\/form>/gi)].map((m) => {
    const attrs = attributesOf(m[1]!)
    const inputs = [...m[2]!.matchAll(/<input\b[^>]*>/gi)].map((i) => attributesOf(i[0]))
    const hidden: Record<string, string> = {}
    for (const i of inputs) if (i.type === 'hidden' && i.name) hidden[i.name] = i.value ?? ''
    return {
      attrs,
      action: attrs.action ?? '',
      method: (attrs.method ?? 'get').toLowerCase(),
      inputs,
      hidden,
      visible: inputs.filter((i) => i.type !== 'hidden'),
      buttons: [...m[2]!.matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/gi)].map((b) => b[1]!.trim()),
    }
  })
}

/** The element carrying role="alert" (its id and text), or null. */
function alertIn(html: string): { id: string | undefined; text: string } | null {
  const m = /(<([a-z]+)\b[^>]*\brole="alert"[^>]*>)([\s\S]*?)<\/\2>/i.exec(html)
  return m ? { id: attributesOf(m[1]!).id, text: decodeEntities(m[3]!.replace(/<[^>]+>/g, '')).trim() } : null
}

function linksIn(html: string): { href: string; text: string }[] {
  return [...html.matchAll(/(<a\b[^>]*>)([\s\S]*?)<\/a>/gi)].map((m) => ({
    href: attributesOf(m[1]!).href ?? '',
    text: m[2]!.replace(/<[^>]+>/g, '').trim(),
  }))
}

/** The nonce of the page's Content-Security-Policy, which allows nothing else. */
function cspNonceOf(res: LightMyRequestResponse): string {
  const csp = String(res.headers['content-security-policy'])
  const m = /^default-src 'none'; style-src 'nonce-([A-Za-z0-9_-]{22})'; script-src 'nonce-\1'; form-action 'self' http:\/\/localhost:13618; base-uri 'none'; frame-ancestors 'none'$/.exec(csp)
  assert.ok(m, `CSP: ${csp}`)
  return m[1]!
}

/**
 * What every page of this flow must be: HTML, a language, labelled fields, never cached or
 * framed, its one style (and, on the slicer's signed-in page, its one script) under the CSP nonce.
 */
function assertAccessiblePage(res: LightMyRequestResponse, { script = false } = {}): void {
  assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8$/i)
  assert.equal(res.headers['cache-control'], 'no-store')
  assert.equal(res.headers['x-frame-options'], 'DENY')
  const nonce = cspNonceOf(res)
  const html = res.body
  assert.deepEqual([...html.matchAll(/<style\b[^>]*>/gi)].map((m) => m[0]), [`<style nonce="${nonce}">`])
  assert.deepEqual([...html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]), script ? [`<script nonce="${nonce}">`] : [], 'scripts')
  assert.match(html, /^<!doctype html>/i)
  const lang = /<html\b[^>]*\blang="([^"]+)"/i.exec(html)
  assert.ok(lang && lang[1]!.length >= 2, '<html lang=...>')
  assert.match(html, /<title>[^<]+<\/title>/)
  assert.match(html, /<h1\b[^>]*>[^<]+<\/h1>/)
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handlers')
  assert.doesNotMatch(html, /javascript:/i)
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!)
  assert.equal(new Set(ids).size, ids.length, 'ids are unique')
  const labelled = new Set([...html.matchAll(/<label\b[^>]*\bfor="([^"]+)"[^>]*>[^<\s][^<]*<\/label>/gi)].map((m) => m[1]!))
  for (const target of labelled) assert.ok(ids.includes(target), `label for=${target} names an element`)
  for (const form of formsIn(html)) {
    assert.equal(form.method, 'post', 'forms post')
    assert.ok(form.buttons.length >= 1 && form.buttons.every((b) => b.length > 0), 'a submit button with text')
    for (const input of form.visible) {
      assert.ok(input.id, `visible input ${input.name} has an id`)
      assert.ok(labelled.has(input.id!), `visible input ${input.id} has a <label for>`)
      assert.ok(input.name, `visible input ${input.id} has a name`)
    }
  }
}

// ---- driving the page ---------------------------------------------------------------

async function openPage(s: TestApp, url = '/sign-in', headers: Record<string, string> = { 'user-agent': BROWSER_UA }) {
  const res = await s.request({ method: 'GET', url, headers })
  assert.equal(res.statusCode, 200, res.body)
  assertAccessiblePage(res)
  const forms = formsIn(res.body)
  assert.equal(forms.length, 1)
  const csrf = forms[0]!.hidden.csrf
  assert.match(String(csrf), /^[A-Za-z0-9_-]{43}$/, 'the form carries a CSRF token')
  if (/bbl_csrf_token=/.test(headers.cookie ?? '')) {
    assert.equal(res.headers['set-cookie'], undefined, 'a browser keeps its CSRF cookie')
  } else {
    assert.deepEqual(res.headers['set-cookie'], `bbl_csrf_token=${csrf}; Path=/; SameSite=Lax`, 'the token is also the cookie')
  }
  return { res, form: forms[0]! }
}

/**
 * Submits a form as a browser: every named input, hidden ones as the page gave them, and
 * the CSRF cookie the page set (its value is the form's token, as openPage checks).
 */
async function submit(s: TestApp, form: Form, values: Record<string, string>, headers: Record<string, string> = { 'user-agent': BROWSER_UA }) {
  assert.equal(form.method, 'post')
  assert.ok(form.action.startsWith('/'), `a same-origin action: ${form.action}`)
  const names = new Set(form.inputs.map((i) => i.name))
  for (const name of Object.keys(values)) assert.ok(names.has(name), `the form has a "${name}" field`)
  const body = new URLSearchParams()
  for (const input of form.inputs) {
    if (!input.name) continue
    body.append(input.name, input.type === 'hidden' ? (input.value ?? '') : (values[input.name] ?? input.value ?? ''))
  }
  return s.request({
    method: 'POST',
    url: form.action,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bbl_csrf_token=${form.hidden.csrf}`, ...headers },
    payload: body.toString(),
  })
}

/** A form's hidden fields but its CSRF token, which must be there. */
function hiddenBesidesCsrf(form: Form): Record<string, string> {
  const { csrf, ...rest } = form.hidden
  assert.match(String(csrf), /^[A-Za-z0-9_-]{43}$/)
  return rest
}

/** The one form of a step page (the code step also has its "send a new code" form). */
function stepForm(res: LightMyRequestResponse, step: string): Form {
  const form = formsIn(res.body).find((f) => f.hidden.step === step)
  assert.ok(form, `a ${step} form in: ${res.body}`)
  return form
}

function assertSignedInPage(res: LightMyRequestResponse, name: string): void {
  assert.equal(res.statusCode, 200, res.body)
  assertAccessiblePage(res)
  assert.equal(res.headers.location, undefined)
  assert.match(res.body, /<h1>You are signed in<\/h1>/)
  assert.match(res.body, new RegExp(`role="status">Signed in as <strong>${name}</strong>`))
  assert.equal(formsIn(res.body).length, 0, 'no form left to fill')
}

/** Both token cookies, HttpOnly on the whole site; the access token. */
function assertTokenCookies(res: LightMyRequestResponse): string {
  const cookies = cookiesOf(res)
  assert.deepEqual(Object.keys(cookies).sort(), ['refreshToken', 'token'])
  for (const c of [cookies.token!, cookies.refreshToken!]) {
    assert.equal(typeof c.value, 'string')
    assert.ok(c.value.length >= 32)
    assert.ok(c.attributes.includes('HttpOnly'))
    assert.ok(c.attributes.includes('Path=/'))
    assert.ok(c.attributes.includes('SameSite=Lax'))
    assert.ok(c.attributes.includes('Max-Age=7776000'))
  }
  assert.notEqual(cookies.token!.value, cookies.refreshToken!.value)
  return cookies.token!.value
}

async function assertTokenIsFor(s: TestApp, accessToken: string, account: string): Promise<void> {
  const profile = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(accessToken) })
  assert.equal(profile.statusCode, 200)
  assert.equal(profile.json().account, account)
}

/** A 303 to Studio's local callback; the ticket. */
function ticketOf(res: LightMyRequestResponse): string {
  assert.equal(res.statusCode, 303, res.body)
  assert.equal(res.headers['cache-control'], 'no-store')
  const m = CALLBACK.exec(String(res.headers.location))
  assert.ok(m, `Location ${res.headers.location}`)
  const ticket = decodeURIComponent(m[1]!)
  assert.ok(ticket.length >= 16)
  return ticket
}

/** Trades a ticket as Studio does; checks the seven fields; the access token. */
async function exchangeTicket(s: TestApp, ticket: string, account: string): Promise<string> {
  const res = await s.request({ method: 'POST', url: `/v1/user-service/user/ticket/${encodeURIComponent(ticket)}`, payload: {} })
  // Studio's own login lives as long as TICKET_TOKEN_TTL says, not the web session.
  const body = await assertTokens(s, res, { accessMethod: 'ticket', ttl: s.config.ticketTokenTtl })
  await assertTokenIsFor(s, body.accessToken, account)
  return body.accessToken
}

async function assertTicketSpent(s: TestApp, ticket: string): Promise<void> {
  const again = await s.request({ method: 'POST', url: `/v1/user-service/user/ticket/${encodeURIComponent(ticket)}`, payload: {} })
  assert.equal(again.statusCode, 400)
  assert.deepEqual(again.json(), { code: 5, error: 'Login failed' })
}

function assertErrorPage(res: LightMyRequestResponse, status: number, text: RegExp) {
  assert.equal(res.statusCode, status, res.body)
  assertAccessiblePage(res)
  assert.equal(res.headers['set-cookie'], undefined)
  assert.equal(res.headers.location, undefined)
  const alert = alertIn(res.body)
  assert.ok(alert, 'an element with role="alert"')
  assert.match(alert.text, text)
  assert.match(res.body, /<title>(Error|Fehler): /, 'the title tells of the error')
  return alert
}

/** The visible inputs of a form point at the alert, so a screen reader reads it with them. */
function assertDescribedByAlert(form: Form, alertId: string | undefined) {
  assert.ok(alertId, 'the alert has an id')
  for (const input of form.visible) assert.equal(input['aria-describedby'], alertId, `${input.name} is described by the alert`)
}

/** A 6-digit code the authenticator shows at none of the steps the server accepts. */
function wrongAuthenticatorCode(secret: string, clock: TestClock): string {
  const live = new Set([-2, -1, 0, 1, 2].map((o) => authenticatorCode(secret, clock, o)))
  return ['000000', '111111', '222222', '333333', '444444', '555555'].find((c) => !live.has(c))!
}

async function outboxCount(s: TestApp, account: string): Promise<number> {
  const res = await s.admin({ method: 'GET', url: `/admin/v1/outbox?account=${encodeURIComponent(account)}` })
  assert.equal(res.statusCode, 200)
  return (res.json() as { messages: unknown[] }).messages.length
}

// ---- the page itself ----------------------------------------------------------------

test('GET /sign-in is a plain, labelled HTML form posting back to /sign-in', async (t) => {
  const s = await startTestApp(t)
  const { res, form } = await openPage(s)
  assert.match(res.body, /<html lang="en">/)
  assert.match(res.body, /<main>/)
  assert.equal(form.action, '/sign-in')
  assert.equal(form.method, 'post')
  assert.deepEqual(hiddenBesidesCsrf(form), { handoff: 'none', step: 'password' })
  assert.deepEqual(
    form.visible.map((i) => i.name),
    ['account', 'password'],
  )
  const [account, password] = form.visible as [Record<string, string>, Record<string, string>]
  assert.equal(account.id, 'account')
  assert.equal(account.type, 'text')
  assert.equal(account.autocomplete, 'username')
  assert.equal(account.value, '')
  assert.ok('required' in account)
  assert.equal(password.id, 'password')
  assert.equal(password.type, 'password')
  assert.equal(password.autocomplete, 'current-password')
  assert.equal(password.value, undefined, 'a password is never put in the page')
  assert.ok('required' in password)
  assert.match(res.body, /<label for="account">Email or phone<\/label>/)
  assert.match(res.body, /<label for="password">Password<\/label>/)
  assert.equal(alertIn(res.body), null)
  assert.deepEqual(form.buttons, ['Sign in'])
})

test("the page knows the slicer's window by its user agent, the ticket hand-over by ?client=studio, and says so in the hidden field", async (t) => {
  const s = await startTestApp(t)
  for (const ua of [STUDIO_UA, 'BambuStudio/1.10.0', 'OrcaSlicer/2.1.1 Mozilla/5.0']) {
    const { form } = await openPage(s, '/sign-in', { 'user-agent': ua })
    assert.equal(form.hidden.handoff, 'message', ua)
  }
  assert.equal((await openPage(s, '/sign-in?client=studio')).form.hidden.handoff, 'ticket')
  assert.equal((await openPage(s, '/sign-in?client=studio', { 'user-agent': STUDIO_UA })).form.hidden.handoff, 'ticket')
  assert.equal((await openPage(s, '/sign-in?client=browser')).form.hidden.handoff, 'none')
  assert.equal((await openPage(s, '/sign-in', { 'user-agent': BROWSER_UA })).form.hidden.handoff, 'none')
  const head = await s.request({ method: 'HEAD', url: '/sign-in' })
  assert.equal(head.statusCode, 200)
  assert.match(String(head.headers['content-type']), /^text\/html/)
})

// ---- password accounts --------------------------------------------------------------

test('a browser signs in with a password: signed-in page, token cookies that work as a Bearer token', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com', { name: 'Maker' })
  const { form } = await openPage(s)
  const res = await submit(s, form, { account: '  Maker@Example.com ', password: PASSWORD })
  assertSignedInPage(res, 'Maker')
  const token = assertTokenCookies(res)
  await assertTokenIsFor(s, token, 'maker@example.com')
  const refresh = cookiesOf(res).refreshToken!.value
  const bad = await s.request({ method: 'GET', url: '/v1/user-service/my/profile', headers: bearer(refresh) })
  assert.equal(bad.statusCode, 401, 'the refresh cookie is not an access token')
})

test('the signed-in page escapes the name it shows', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com', { name: '<b>Maker</b> & co' })
  const res = await submit(s, (await openPage(s)).form, { account: 'maker@example.com', password: PASSWORD })
  assertSignedInPage(res, '&lt;b&gt;Maker&lt;/b&gt; &amp; co')
  assert.doesNotMatch(res.body, /<b>Maker/)
})

test('Studio (?client=studio) signs in with a password: 303 to the local callback with a ticket it trades once', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const studio = { 'user-agent': STUDIO_UA }
  const { form } = await openPage(s, '/sign-in?client=studio', studio)
  assert.equal(form.hidden.handoff, 'ticket')
  const res = await submit(s, form, { account: 'maker@example.com', password: PASSWORD }, studio)
  const ticket = ticketOf(res)
  const cookieToken = assertTokenCookies(res)
  await assertTokenIsFor(s, cookieToken, 'maker@example.com')
  const studioToken = await exchangeTicket(s, ticket, 'maker@example.com')
  assert.notEqual(studioToken, cookieToken, 'Studio gets tokens of its own')
  await assertTicketSpent(s, ticket)
})

test('?client=studio on the GET is carried by the hidden field, whatever the user agent of the POST', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { form } = await openPage(s, '/sign-in?client=studio')
  assert.equal(form.hidden.handoff, 'ticket')
  assert.equal(form.action, '/sign-in')
  const res = await submit(s, form, { account: 'maker@example.com', password: PASSWORD })
  const ticket = ticketOf(res)
  assertTokenCookies(res)
  await exchangeTicket(s, ticket, 'maker@example.com')
  await assertTicketSpent(s, ticket)
})

test('a wrong password is a 400 page with an alert, the account re-filled and no cookies', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { form } = await openPage(s)
  const wrong = await submit(s, form, { account: 'maker@example.com', password: 'not the password' })
  const alert = assertErrorPage(wrong, 400, /^Incorrect account or password\.$/)
  const again = stepForm(wrong, 'password')
  assert.equal(again.visible.find((i) => i.name === 'account')!.value, 'maker@example.com')
  assert.equal(again.visible.find((i) => i.name === 'password')!.value, undefined)
  assert.doesNotMatch(wrong.body, /not the password/)
  assertDescribedByAlert(again, alert.id)
  for (const input of again.visible) assert.equal(input['aria-invalid'], 'true')

  // An unknown account reads exactly the same.
  const unknown = await submit(s, form, { account: 'nobody@example.com', password: 'not the password' })
  assertErrorPage(unknown, 400, /^Incorrect account or password\.$/)
  const sameNonce = (r: LightMyRequestResponse) => r.body.replaceAll(cspNonceOf(r), 'NONCE')
  assert.equal(sameNonce(unknown).replace('nobody@example.com', 'maker@example.com'), sameNonce(wrong))

  // The re-rendered form works.
  const res = await submit(s, again, { password: PASSWORD })
  assertSignedInPage(res, 'maker')
  assertTokenCookies(res)
})

test('an empty account or password is a 400 page asking for both', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { form } = await openPage(s)
  for (const values of [{ account: '', password: PASSWORD }, { account: 'maker@example.com', password: '' }, { account: '   ', password: PASSWORD }]) {
    const res = await submit(s, form, values)
    assertErrorPage(res, 400, /^Enter your account and password\.$/)
    stepForm(res, 'password')
  }
})

test('a failed attempt keeps the Studio choice: the corrected form still redirects to Studio', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { form } = await openPage(s, '/sign-in?client=studio')
  const wrong = await submit(s, form, { account: 'maker@example.com', password: 'nope' })
  assertErrorPage(wrong, 400, /Incorrect/)
  const again = stepForm(wrong, 'password')
  assert.equal(again.hidden.handoff, 'ticket')
  const res = await submit(s, again, { password: PASSWORD })
  await exchangeTicket(s, ticketOf(res), 'maker@example.com')
})

test('a hostile account value is escaped wherever the page shows it', async (t) => {
  const s = await startTestApp(t)
  const hostile = `"><script>x</script>'`
  const { form } = await openPage(s)
  const res = await submit(s, form, { account: hostile, password: 'whatever' })
  assertErrorPage(res, 400, /Incorrect/)
  assert.equal(res.body.includes('<script>x</script>'), false)
  assert.equal(res.body.includes(hostile), false)
  assert.match(res.body, /value="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;&#39;"/)
  assert.equal(stepForm(res, 'password').visible.find((i) => i.name === 'account')!.value, hostile, 'round-trips as typed')

  // The code step shows the account too (a tampered hidden field reaches it on resend).
  const resend = await s.request({
    method: 'POST',
    url: '/sign-in',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bbl_csrf_token=${form.hidden.csrf}` },
    payload: new URLSearchParams({ csrf: form.hidden.csrf!, handoff: 'none', step: 'resend', account: hostile }).toString(),
  })
  assert.equal(resend.statusCode, 200)
  assertAccessiblePage(resend)
  assert.equal(resend.body.includes('<script>x</script>'), false)
  assert.match(resend.body, /<strong>&quot;&gt;&lt;script&gt;x&lt;\/script&gt;&#39;<\/strong>/)
  assert.equal(stepForm(resend, 'code').hidden.account, hostile)
})

test('fields that are not text (a JSON body) are treated as missing, not as a server error', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { form } = await openPage(s)
  const res = await s.request({
    method: 'POST',
    url: '/sign-in',
    headers: { cookie: `bbl_csrf_token=${form.hidden.csrf}` },
    payload: { csrf: form.hidden.csrf, account: 123, password: ['x'], handoff: true },
  })
  assertErrorPage(res, 400, /^Enter your account and password\.$/)
  assert.equal(stepForm(res, 'password').hidden.handoff, 'none')
})

// ---- emailed codes ------------------------------------------------------------------

test('an email_code account: password, then the emailed code through the code step form', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code', name: 'Coder' })
  const { form } = await openPage(s)
  const step = await submit(s, form, { account: 'coder@example.com', password: PASSWORD })
  assert.equal(step.statusCode, 200)
  assertAccessiblePage(step)
  assert.equal(step.headers['set-cookie'], undefined, 'no cookies before the code')
  assert.equal(alertIn(step.body), null)
  assert.match(step.body, /<h1>Enter your code<\/h1>/)
  assert.match(step.body, /<strong>coder@example\.com<\/strong>/)
  const codeForm = stepForm(step, 'code')
  assert.equal(codeForm.action, '/sign-in')
  assert.deepEqual(hiddenBesidesCsrf(codeForm), { handoff: 'none', step: 'code', account: 'coder@example.com' })
  assert.deepEqual(codeForm.visible.map((i) => i.name), ['code'])
  const code = codeForm.visible[0]!
  assert.equal(code.id, 'code')
  assert.equal(code.autocomplete, 'one-time-code')
  assert.equal(code.inputmode, 'numeric')
  assert.ok('required' in code)
  assert.match(step.body, /<label for="code">Verification code<\/label>/)
  assert.equal(await outboxCount(s, 'coder@example.com'), 1)

  const res = await submit(s, codeForm, { code: await s.latestCode('coder@example.com') })
  assertSignedInPage(res, 'Coder')
  const token = assertTokenCookies(res)
  await assertTokenIsFor(s, token, 'coder@example.com')
})

test('a wrong emailed code is a 400 code step with an alert; the right one still works after it', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  const step = await submit(s, (await openPage(s)).form, { account: 'coder@example.com', password: PASSWORD })
  const codeForm = stepForm(step, 'code')
  const real = await s.latestCode('coder@example.com')
  const wrongCode = real === '000000' ? '111111' : '000000'
  const wrong = await submit(s, codeForm, { code: wrongCode })
  const alert = assertErrorPage(wrong, 400, /^That code is not right\. Try again\.$/)
  const again = stepForm(wrong, 'code')
  assert.deepEqual(hiddenBesidesCsrf(again), { handoff: 'none', step: 'code', account: 'coder@example.com' })
  assertDescribedByAlert(again, alert.id)
  assert.equal(again.visible[0]!['aria-invalid'], 'true')

  const res = await submit(s, again, { code: real })
  assertSignedInPage(res, 'coder')
  assertTokenCookies(res)

  // The code is spent: using it again finds no live code.
  const reused = await submit(s, again, { code: real })
  assertErrorPage(reused, 400, /^That code has expired\. Ask for a new one\.$/)
})

test('"send a new code" puts a new code in the outbox and the new code signs in', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  const step = await submit(s, (await openPage(s)).form, { account: 'coder@example.com', password: PASSWORD })
  const resendForm = stepForm(step, 'resend')
  assert.equal(resendForm.action, '/sign-in')
  assert.deepEqual(hiddenBesidesCsrf(resendForm), { handoff: 'none', step: 'resend', account: 'coder@example.com' })
  assert.deepEqual(resendForm.visible, [])
  assert.deepEqual(resendForm.buttons, ['Send a new code'])
  assert.equal(await outboxCount(s, 'coder@example.com'), 1)

  const resent = await submit(s, resendForm, {})
  assert.equal(resent.statusCode, 200)
  assertAccessiblePage(resent)
  assert.equal(resent.headers['set-cookie'], undefined)
  assert.equal(alertIn(resent.body), null)
  assert.match(resent.body, /<p class="notice" role="status">A new code is on its way\.<\/p>/)
  assert.equal(await outboxCount(s, 'coder@example.com'), 2)

  const res = await submit(s, stepForm(resent, 'code'), { code: await s.latestCode('coder@example.com') })
  assertSignedInPage(res, 'coder')
  assertTokenCookies(res)
})

test('Studio through the code step gets its ticket redirect', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  const studio = { 'user-agent': STUDIO_UA }
  const step = await submit(s, (await openPage(s, '/sign-in?client=studio', studio)).form, { account: 'coder@example.com', password: PASSWORD }, studio)
  const codeForm = stepForm(step, 'code')
  assert.equal(codeForm.hidden.handoff, 'ticket')
  const res = await submit(s, codeForm, { code: await s.latestCode('coder@example.com') }, studio)
  const ticket = ticketOf(res)
  assertTokenCookies(res)
  await exchangeTicket(s, ticket, 'coder@example.com')
  await assertTicketSpent(s, ticket)
})

// ---- TFA ----------------------------------------------------------------------------

async function createTfaUser(s: TestApp, account: string, name?: string): Promise<string> {
  const user = await s.createUser(account, { login_policy: 'tfa', ...(name ? { name } : {}) })
  assert.equal(user.login_policy, 'tfa')
  assert.equal(typeof user.tfa_secret, 'string')
  return user.tfa_secret!
}

test('a TFA account: password, then the authenticator code through the TFA step form', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s, 'tfa@example.com', 'Tifa')
  const step = await submit(s, (await openPage(s)).form, { account: 'tfa@example.com', password: PASSWORD })
  assert.equal(step.statusCode, 200)
  assertAccessiblePage(step)
  assert.equal(step.headers['set-cookie'], undefined, 'no cookies before the TFA code')
  assert.equal(alertIn(step.body), null)
  assert.match(step.body, /<h1>Two-factor authentication<\/h1>/)
  const tfaForm = stepForm(step, 'tfa')
  assert.equal(tfaForm.action, '/sign-in')
  assert.deepEqual(Object.keys(tfaForm.hidden).sort(), ['csrf', 'handoff', 'step', 'tfaKey'])
  assert.equal(tfaForm.hidden.handoff, 'none')
  assert.equal(typeof tfaForm.hidden.tfaKey, 'string')
  assert.ok(tfaForm.hidden.tfaKey!.length >= 16)
  assert.deepEqual(tfaForm.visible.map((i) => i.name), ['tfaCode'])
  const input = tfaForm.visible[0]!
  assert.equal(input.id, 'tfaCode')
  assert.equal(input.autocomplete, 'one-time-code')
  assert.equal(input.inputmode, 'numeric')
  assert.ok('required' in input)
  assert.match(step.body, /<label for="tfaCode">Authentication code<\/label>/)

  const res = await submit(s, tfaForm, { tfaCode: authenticatorCode(secret, s.clock) })
  assertSignedInPage(res, 'Tifa')
  const token = assertTokenCookies(res)
  await assertTokenIsFor(s, token, 'tfa@example.com')
})

test('a wrong TFA code is a 400 TFA step with an alert and the same key; the right code then works', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s, 'tfa@example.com')
  const step = await submit(s, (await openPage(s)).form, { account: 'tfa@example.com', password: PASSWORD })
  const tfaForm = stepForm(step, 'tfa')
  const wrong = await submit(s, tfaForm, { tfaCode: wrongAuthenticatorCode(secret, s.clock) })
  const alert = assertErrorPage(wrong, 400, /^That code did not work\. Try the current one from your app\.$/)
  const again = stepForm(wrong, 'tfa')
  assert.equal(again.hidden.tfaKey, tfaForm.hidden.tfaKey)
  assert.equal(again.hidden.handoff, 'none')
  assertDescribedByAlert(again, alert.id)

  const res = await submit(s, again, { tfaCode: authenticatorCode(secret, s.clock) })
  assertSignedInPage(res, 'tfa')
  assertTokenCookies(res)

  // The key is spent.
  s.clock.advance(30_000)
  const replay = await submit(s, again, { tfaCode: authenticatorCode(secret, s.clock) })
  assertErrorPage(replay, 400, /did not work/)
})

test('Studio through the TFA step gets a 303 to the callback with a ticket', async (t) => {
  const s = await startTestApp(t)
  const secret = await createTfaUser(s, 'tfa@example.com')
  const studio = { 'user-agent': STUDIO_UA }
  const step = await submit(s, (await openPage(s, '/sign-in?client=studio', studio)).form, { account: 'tfa@example.com', password: PASSWORD }, studio)
  const tfaForm = stepForm(step, 'tfa')
  assert.equal(tfaForm.hidden.handoff, 'ticket')
  const res = await submit(s, tfaForm, { tfaCode: authenticatorCode(secret, s.clock) }, studio)
  const ticket = ticketOf(res)
  const cookieToken = assertTokenCookies(res)
  await assertTokenIsFor(s, cookieToken, 'tfa@example.com')
  await exchangeTicket(s, ticket, 'tfa@example.com')
  await assertTicketSpent(s, ticket)
})

test('the code and TFA steps offer a plain link to start over, keeping the Studio choice', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code' })
  await createTfaUser(s, 'tfa@example.com')
  for (const [url, handoff] of [['/sign-in', 'none'], ['/sign-in?client=studio', 'ticket']] as const) {
    for (const account of ['coder@example.com', 'tfa@example.com']) {
      const step = await submit(s, (await openPage(s, url)).form, { account, password: PASSWORD })
      assert.equal(step.statusCode, 200)
      const links = linksIn(step.body)
      const startOver = links.find((l) => /start over|different account/i.test(l.text))
      assert.ok(startOver, `a start-over link on the step for ${account}: ${JSON.stringify(links)}`)
      assert.ok(startOver.href.startsWith('/sign-in'), startOver.href)
      const { form } = await openPage(s, startOver.href)
      assert.equal(form.hidden.step, 'password')
      assert.equal(form.hidden.handoff, handoff, `${url} ${account}`)
    }
  }
})

// ---- already signed in --------------------------------------------------------------

test('GET /sign-in with a valid token cookie: signed in for a browser, a fresh ticket for Studio', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com', { name: 'Maker' })
  const first = await submit(s, (await openPage(s)).form, { account: 'maker@example.com', password: PASSWORD })
  const token = assertTokenCookies(first)
  const cookie = `theme=dark; token=${encodeURIComponent(token)}; other=1`

  const browser = await s.request({ method: 'GET', url: '/sign-in', headers: { cookie, 'user-agent': BROWSER_UA } })
  assertSignedInPage(browser, 'Maker')
  assert.equal(browser.headers['set-cookie'], undefined)

  const studio1 = await s.request({ method: 'GET', url: '/sign-in?client=studio', headers: { cookie, 'user-agent': STUDIO_UA } })
  const studio2 = await s.request({ method: 'GET', url: '/sign-in?client=studio', headers: { cookie, 'user-agent': BROWSER_UA } })
  const t1 = ticketOf(studio1)
  const t2 = ticketOf(studio2)
  assert.notEqual(t1, t2, 'a fresh ticket each time')
  await exchangeTicket(s, t1, 'maker@example.com')
  await exchangeTicket(s, t2, 'maker@example.com')
  await assertTicketSpent(s, t1)
})

test('GET /sign-in with a token cookie that does not work shows the form', async (t) => {
  const s = await startTestApp(t, { ACCESS_TOKEN_TTL: '3600' })
  await s.createUser('maker@example.com')
  const { accessToken, refreshToken } = await s.login('maker@example.com')
  for (const value of ['not-a-token', refreshToken, '%E0%A4%A']) {
    const { form } = await openPage(s, '/sign-in', { cookie: `token=${value}`, 'user-agent': STUDIO_UA })
    assert.equal(form.hidden.step, 'password')
  }
  s.clock.advance(3601_000)
  const { form } = await openPage(s, '/sign-in', { cookie: `token=${accessToken}` })
  assert.equal(form.hidden.step, 'password', 'an expired token is not a sign-in')
})

// ---- rate limiting ------------------------------------------------------------------

test('after too many failures the page answers 429 with Retry-After, even for the right password', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  await s.createUser('maker@example.com')
  const { form } = await openPage(s)
  for (let i = 0; i < 3; i++) {
    const res = await submit(s, form, { account: 'maker@example.com', password: `wrong ${i}` })
    assertErrorPage(res, 400, /Incorrect/)
    assert.equal(res.headers['retry-after'], undefined)
  }
  const limited = await submit(s, form, { account: 'maker@example.com', password: PASSWORD })
  assertErrorPage(limited, 429, /^Too many attempts; try again in \d+ seconds$/)
  const retryAfter = Number(limited.headers['retry-after'])
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 900, String(limited.headers['retry-after']))
  const again = stepForm(limited, 'password')
  assert.equal(again.visible.find((i) => i.name === 'account')!.value, 'maker@example.com')

  s.clock.advance(retryAfter * 1000)
  const res = await submit(s, again, { password: PASSWORD })
  assertSignedInPage(res, 'maker')
  assertTokenCookies(res)
})

test('too many wrong TFA codes: the TFA step answers 429 with Retry-After', async (t) => {
  const s = await startTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  const secret = await createTfaUser(s, 'tfa@example.com')
  const step = await submit(s, (await openPage(s)).form, { account: 'tfa@example.com', password: PASSWORD })
  const tfaForm = stepForm(step, 'tfa')
  for (let i = 0; i < 3; i++) assertErrorPage(await submit(s, tfaForm, { tfaCode: wrongAuthenticatorCode(secret, s.clock) }), 400, /did not work/)
  const limited = await submit(s, tfaForm, { tfaCode: authenticatorCode(secret, s.clock) })
  assertErrorPage(limited, 429, /^Too many attempts/)
  assert.match(String(limited.headers['retry-after']), /^[1-9]\d*$/)
  assert.equal(stepForm(limited, 'tfa').hidden.tfaKey, tfaForm.hidden.tfaKey)
})

// ---- languages ----------------------------------------------------------------------

test('/<lang>/sign-in speaks the language when it has its words, English otherwise, and its forms post back there', async (t) => {
  const s = await startTestApp(t)
  for (const [path, lang] of [
    ['/de/sign-in', 'de'],
    ['/DE/sign-in', 'de'],
    ['/de-AT/sign-in', 'de'],
    ['/en/sign-in', 'en'],
    ['/zh-CN/sign-in', 'en'],
    ['/pt-BR/sign-in', 'en'],
    ['/sr-Latn-RS/sign-in', 'en'],
  ] as const) {
    const { res, form } = await openPage(s, path)
    assert.match(res.body, new RegExp(`<html lang="${lang}">`), path)
    assert.equal(form.action, path)
    if (lang === 'de') {
      assert.match(res.body, /<title>Anmelden · bambu-cloud<\/title>/)
      assert.match(res.body, /<label for="account">E-Mail oder Telefon<\/label>/)
      assert.match(res.body, /<label for="password">Passwort<\/label>/)
      assert.deepEqual(form.buttons, ['Anmelden'])
    } else {
      assert.match(res.body, /<label for="account">Email or phone<\/label>/)
      assert.deepEqual(form.buttons, ['Sign in'])
    }
  }
})

test('a language segment that is not a language tag is a 404 in the envelope, for GET and POST', async (t) => {
  const s = await startTestApp(t)
  for (const lang of ['en_US', '1234', 'e', 'toolong', 'de-', 'de--AT', 'de-abcdefghi', '%3Cb%3E', 'zh-Hans-CN-x-y-z']) {
    for (const method of ['GET', 'POST'] as const) {
      const res = await s.request({ method, url: `/${lang}/sign-in`, headers: { 'user-agent': STUDIO_UA } })
      assert.equal(res.statusCode, 404, `${method} ${lang}`)
      assert.match(String(res.headers['content-type']), /^application\/json/)
      assert.deepEqual(res.json(), { code: 1004, error: 'Not found', message: 'No such route' })
    }
  }
})

test('German all the way through: an error, the code step and the signed-in page', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code', name: 'Coder' })
  const { form } = await openPage(s, '/de/sign-in')
  const wrong = await submit(s, form, { account: 'coder@example.com', password: 'falsch' })
  assertErrorPage(wrong, 400, /^Konto oder Passwort ist falsch\.$/)
  assert.match(wrong.body, /<title>Fehler: Anmelden · bambu-cloud<\/title>/)
  const step = await submit(s, stepForm(wrong, 'password'), { password: PASSWORD })
  assert.equal(step.statusCode, 200)
  assertAccessiblePage(step)
  assert.match(step.body, /<h1>Code eingeben<\/h1>/)
  assert.match(step.body, /Wir haben einen 6-stelligen Code an <strong>coder@example\.com<\/strong> gesendet\./)
  assert.match(step.body, /<a href="\/de\/sign-in">Mit einem anderen Konto neu beginnen<\/a>/)
  const codeForm = stepForm(step, 'code')
  assert.equal(codeForm.action, '/de/sign-in')
  const res = await submit(s, codeForm, { code: await s.latestCode('coder@example.com') })
  assert.equal(res.statusCode, 200)
  assertAccessiblePage(res)
  assert.match(res.body, /<html lang="de">/)
  assert.match(res.body, /<h1>Du bist angemeldet<\/h1>/)
  assert.match(res.body, /role="status">Angemeldet als <strong>Coder<\/strong>\. Du kannst diese Seite schließen\./)
  assertTokenCookies(res)
})

// ---- the page's own CSRF check ------------------------------------------------------

test('a form posted without this browser\'s CSRF cookie, without the field, or with another value is refused with a 403 form that then works', async (t) => {
  const s = await startTestApp(t)
  await s.createUser('maker@example.com')
  const { form } = await openPage(s)
  const token = form.hidden.csrf!
  const other = (await openPage(s)).form.hidden.csrf!
  const fields = { handoff: 'none', step: 'password', account: 'maker@example.com', password: PASSWORD }
  const cases: [string, Record<string, string>, Record<string, string>][] = [
    ['no cookie', { ...fields, csrf: token }, {}],
    ['no field', fields, { cookie: `bbl_csrf_token=${token}` }],
    ['another value', { ...fields, csrf: other }, { cookie: `bbl_csrf_token=${token}` }],
    ['neither', fields, {}],
  ]
  for (const [name, body, headers] of cases) {
    const res = await s.request({
      method: 'POST',
      url: '/sign-in',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': BROWSER_UA, ...headers },
      payload: new URLSearchParams(body).toString(),
    })
    assert.equal(res.statusCode, 403, name)
    assertAccessiblePage(res)
    assert.equal(alertIn(res.body)?.text, 'This form has expired. Please try again.', name)
    const cookies = cookiesOf(res)
    assert.deepEqual(Object.keys(cookies), headers.cookie ? [] : ['bbl_csrf_token'], `${name}: only a CSRF cookie, when there was none`)
    const again = stepForm(res, 'password')
    assert.equal(again.hidden.csrf, cookies.bbl_csrf_token?.value ?? token, `${name}: the form repeats the cookie`)
    assert.equal(again.visible.find((i) => i.name === 'account')!.value, 'maker@example.com')
    const signedIn = await submit(s, again, { password: PASSWORD })
    assertSignedInPage(signedIn, 'maker')
  }
})

// ---- the slicer's window ------------------------------------------------------------

test("in the slicer's window the signed-in page carries the user_login message in its one nonce'd script", async (t) => {
  const s = await startTestApp(t)
  const user = await s.createUser('maker@example.com', { name: 'Maker </script><b>' })
  const studio = { 'user-agent': STUDIO_UA }
  const res = await submit(s, (await openPage(s, '/sign-in', studio)).form, { account: 'maker@example.com', password: PASSWORD }, studio)
  assert.equal(res.statusCode, 200, res.body)
  assertAccessiblePage(res, { script: true })
  assert.match(res.body, /<h1>You are signed in<\/h1>/)
  assertTokenCookies(res)
  const script = /<script nonce="[^"]+">\n([\s\S]*?)\n<\/script>/.exec(res.body)![1]!
  const m = /^if \(window\.wx && typeof window\.wx\.postMessage === 'function'\) window\.wx\.postMessage\(JSON\.stringify\((\{.*\})\)\)$/.exec(script)
  assert.ok(m, script)
  assert.doesNotMatch(m[1]!, /<\/script>/i, 'the name cannot close the script')
  const message = JSON.parse(m[1]!)
  assert.deepEqual(Object.keys(message.data).sort(), ['expires_in', 'refresh_expires_in', 'refresh_token', 'token', 'user'])
  assert.deepEqual(message.data.user, { uid: String(user.uid), name: 'Maker </script><b>', nickname: 'Maker </script><b>', account: 'maker@example.com', avatar: '' })
  assert.equal(message.command, 'user_login')
  assert.equal(message.data.expires_in, s.config.ticketTokenTtl)
  assert.equal(message.data.refresh_expires_in, s.config.ticketTokenTtl)
  assert.notEqual(message.data.token, cookiesOf(res).token!.value, 'the slicer gets a login of its own')
  await assertTokenIsFor(s, message.data.token, 'maker@example.com')

  // Already signed in here: the slicer's window gets a fresh login without the form.
  const again = await s.request({ method: 'GET', url: '/de/sign-in', headers: { ...studio, cookie: `token=${cookiesOf(res).token!.value}` } })
  assert.equal(again.statusCode, 200)
  assertAccessiblePage(again, { script: true })
  assert.match(again.body, /<h1>Du bist angemeldet<\/h1>/)
  assert.doesNotMatch(again.body, new RegExp(message.data.token))
})
