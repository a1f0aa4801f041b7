/**
 * Bambu Studio's login window, played by a real headless Chromium: the slicer's user
 * agent, a stub `window.wx` in place before the page's scripts, the sign-in page over real
 * HTTP. The page must hand over the exact `user_login` message, with tokens that work.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { PASSWORD, authenticatorCode, startTestApp, type TestApp } from './helpers/app.ts'
import { launchBrowser, openTab, skipBrowserTests } from './helpers/browser.ts'

const SLICER_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/107.0.0.0 Safari/537.36 BBL-Slicer/v02.05.00.66 (light) BBL-Language/en'

const skip = skipBrowserTests

/**
 * What Studio's login window offers the page: `wx.postMessage`, here recording each
 * message. Given as source text, since the browser runs it, not our compiled code.
 */
const STUB_WX = `(() => {
  const posted = []
  Object.defineProperty(window, '__posted', { value: posted })
  Object.defineProperty(window, 'wx', { value: { postMessage: (message) => { posted.push(message) } } })
})()`

/**
 * Studio's login window (the slicer's user agent; the stub channel unless `wx: false`)
 * and the server, listening on a real port. The browser is launched first so that it is
 * closed first: the server would otherwise wait for the browser's open connections.
 */
async function slicerWindow(t: TestContext, { wx = true } = {}) {
  const context = await launchBrowser(t, { userAgent: SLICER_UA })
  if (wx) await context.addInitScript(STUB_WX)
  const s = await startTestApp(t)
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`
  const tab = await openTab(context)
  /** Opens a path of the server in the window. */
  const open = async (path: string) => {
    const res = await tab.page.goto(`${base}${path}`)
    assert.equal(res?.status(), 200)
  }
  return { s, base, ...tab, open }
}

/** Types into a labelled field and submits its form, as a person does. */
async function fillAndSubmit(page: Page, fields: Record<string, string>, button: string) {
  for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(value)
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: button, exact: true }).click()])
}

/** The messages the page posted through `window.wx`, once the signed-in page is shown. */
async function postedMessages(page: Page): Promise<unknown[]> {
  await page.getByRole('heading', { level: 1 }).waitFor()
  return page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted)
}

/**
 * Asserts the one `user_login` message, field by field and type by type, and that its
 * tokens work against the API as the account: a profile, then a refresh.
 */
async function assertUserLogin(s: TestApp, base: string, posted: unknown[], account: string, name: string) {
  assert.equal(posted.length, 1, 'exactly one message')
  assert.equal(typeof posted[0], 'string', 'posted as a JSON string')
  const message = JSON.parse(posted[0] as string)
  assert.deepEqual(Object.keys(message).sort(), ['command', 'data'])
  assert.equal(message.command, 'user_login')
  const { data } = message
  assert.deepEqual(Object.keys(data).sort(), ['expires_in', 'refresh_expires_in', 'refresh_token', 'token', 'user'])
  assert.equal(typeof data.token, 'string')
  assert.equal(typeof data.refresh_token, 'string')
  assert.ok(data.token.length >= 32 && data.refresh_token.length >= 32 && data.token !== data.refresh_token)
  assert.equal(data.expires_in, s.config.ticketTokenTtl)
  assert.equal(data.refresh_expires_in, s.config.ticketTokenTtl)
  const user = await s.database.db.selectFrom('users').select('uid').where('account', '=', account).executeTakeFirstOrThrow()
  assert.deepEqual(data.user, { uid: String(user.uid), name, nickname: name, account, avatar: '' })

  const profile = await fetch(`${base}/v1/user-service/my/profile`, { headers: { authorization: `Bearer ${data.token}` } })
  assert.equal(profile.status, 200)
  const body = (await profile.json()) as { uid: number; account: string }
  assert.equal(body.account, account)
  assert.equal(body.uid, user.uid)
  const refreshed = await fetch(`${base}/v1/user-service/user/refreshtoken`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: data.refresh_token }),
  })
  assert.equal(refreshed.status, 200)
  assert.equal(typeof ((await refreshed.json()) as { accessToken: unknown }).accessToken, 'string')
}

async function assertSignedInShown(page: Page, heading: string, problems: string[]) {
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), heading)
  // The nonce'd style applies (a CSP refusal would also show in problems).
  const background = await page.getByRole('main').evaluate((el) => getComputedStyle(el).backgroundColor)
  assert.equal(background, 'rgb(255, 255, 255)')
  assert.deepEqual(problems, [])
}

test('password account in the slicer window: the exact user_login message through window.wx, tokens that work', { skip }, async (t) => {
  const { s, base, page, problems, open } = await slicerWindow(t)
  await s.createUser('maker@example.com', { name: 'Maker' })
  await open('/en/sign-in')
  await fillAndSubmit(page, { 'Email or phone': 'maker@example.com', Password: PASSWORD }, 'Sign in')
  await assertUserLogin(s, base, await postedMessages(page), 'maker@example.com', 'Maker')
  await assertSignedInShown(page, 'You are signed in', problems)
  assert.ok(!page.url().includes('token'), 'no token in the URL')
})

test('email_code account in the slicer window: the code from the outbox, then the user_login message', { skip }, async (t) => {
  const { s, base, page, problems, open } = await slicerWindow(t)
  await s.createUser('coder@example.com', { login_policy: 'email_code', name: 'Coder' })
  await open('/sign-in')
  await fillAndSubmit(page, { 'Email or phone': 'coder@example.com', Password: PASSWORD }, 'Sign in')
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Enter your code')
  await fillAndSubmit(page, { 'Verification code': await s.latestCode('coder@example.com') }, 'Sign in')
  await assertUserLogin(s, base, await postedMessages(page), 'coder@example.com', 'Coder')
  await assertSignedInShown(page, 'You are signed in', problems)
})

test('tfa account in the slicer window, in German: the authenticator code, then the user_login message', { skip }, async (t) => {
  const { s, base, page, problems, open } = await slicerWindow(t)
  const user = await s.createUser('tfa@example.com', { login_policy: 'tfa', name: 'Tifa' })
  await open('/de/sign-in')
  assert.equal(await page.getAttribute('html', 'lang'), 'de')
  await fillAndSubmit(page, { 'E-Mail oder Telefon': 'tfa@example.com', Passwort: PASSWORD }, 'Anmelden')
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Zwei-Faktor-Authentifizierung')
  await fillAndSubmit(page, { Authentifizierungscode: authenticatorCode(user.tfa_secret!, s.clock) }, 'Bestätigen')
  await assertUserLogin(s, base, await postedMessages(page), 'tfa@example.com', 'Tifa')
  await assertSignedInShown(page, 'Du bist angemeldet', problems)
})

test('a language the page has no words for (zh-CN) signs in in English, with the same message', { skip }, async (t) => {
  const { s, base, page, problems, open } = await slicerWindow(t)
  await s.createUser('maker@example.com', { name: 'Maker' })
  await open('/zh-CN/sign-in')
  assert.equal(await page.getAttribute('html', 'lang'), 'en')
  await fillAndSubmit(page, { 'Email or phone': 'maker@example.com', Password: 'wrong' }, 'Sign in')
  assert.equal(await page.getByRole('alert').textContent(), 'Incorrect account or password.')
  assert.ok(page.url().endsWith('/zh-CN/sign-in'))
  // The browser notes the 400 of the wrong password; nothing else went wrong.
  assert.deepEqual(problems.splice(0), ['console: Failed to load resource: the server responded with a status of 400 (Bad Request)'])
  await fillAndSubmit(page, { Password: PASSWORD }, 'Sign in')
  await assertUserLogin(s, base, await postedMessages(page), 'maker@example.com', 'Maker')
  await assertSignedInShown(page, 'You are signed in', problems)
})

test('without window.wx (a browser of its own) the page just says the user is signed in', { skip }, async (t) => {
  const { s, page, problems, open } = await slicerWindow(t, { wx: false })
  await s.createUser('maker@example.com', { name: 'Maker' })
  await open('/sign-in')
  await fillAndSubmit(page, { 'Email or phone': 'maker@example.com', Password: PASSWORD }, 'Sign in')
  await assertSignedInShown(page, 'You are signed in', problems)
  assert.equal(await page.getByRole('status').textContent(), 'Signed in as Maker. You can close this page.')
  assert.equal(await page.evaluate(() => typeof (window as unknown as { wx?: unknown }).wx), 'undefined')
})

test("the ticket hand-over (?client=studio): the browser is sent to Studio's local callback with a ticket that trades for tokens", { skip }, async (t) => {
  const { s, base, page, open } = await slicerWindow(t)
  await s.createUser('maker@example.com')
  await open('/sign-in?client=studio')
  await page.getByLabel('Email or phone').fill('maker@example.com')
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  // Nothing listens on Studio's port here; the browser's request to it is what counts.
  const [callback] = await Promise.all([
    page.waitForRequest((r) => r.url().startsWith('http://localhost:13618/')),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ])
  const ticket = new URL(callback.url()).searchParams.get('ticket')
  assert.ok(ticket && ticket.length >= 16, callback.url())
  const res = await fetch(`${base}/v1/user-service/user/ticket/${encodeURIComponent(ticket)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  })
  assert.equal(res.status, 200)
  const { accessToken } = (await res.json()) as { accessToken: string }
  const profile = await fetch(`${base}/v1/user-service/my/profile`, { headers: { authorization: `Bearer ${accessToken}` } })
  assert.equal(((await profile.json()) as { account: string }).account, 'maker@example.com')
})
