/**
 * The sign-in page Bambu Studio's (and OrcaSlicer's) login window loads from the web host,
 * at `/sign-in` and `/<lang>/sign-in`. Plain HTML forms that work without JavaScript:
 * account and password, then the emailed code or the TFA code when the account needs one.
 * On success it sets the token cookies, and then:
 * - in the slicer's login window, a few lines of script hand the slicer a login of its own
 *   through the window's script channel (`window.wx.postMessage`, the `user_login` command);
 * - with `?client=studio`, it hands the slicer a ticket by redirecting to its local callback;
 * - a person in a browser is told they are signed in.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { UserRow } from '../../db/schema.ts'
import { ApiError } from '../../errors.ts'
import { readCookies, setTokenCookies } from '../../http/cookies.ts'
import { csrfCookieOf, csrfFailure, csrfTokenFor } from '../../http/csrf.ts'
import type { App } from '../../http/types.ts'
import { randomToken } from '../../lib/secrets.ts'
import type { LoginOutcome } from '../../services/login.ts'
import type { TokenPair } from '../../services/tokens.ts'
import { isLanguageTag, wordsFor, type SignInWords } from './sign-in-words.ts'

/** Where Bambu Studio listens for the ticket during its login. */
export const STUDIO_CALLBACK = 'http://localhost:13618/'

type Step = 'password' | 'code' | 'tfa'

/**
 * How a sign-in reaches the slicer: `message`, the login window's script channel (the
 * window names itself in its user agent); `ticket`, the local callback (`?client=studio`);
 * `none`, a person's browser.
 */
type Handoff = 'message' | 'ticket' | 'none'

/** What every page of one request shares: where its forms post, its language, its CSP nonce. */
interface Page {
  path: string
  lang: string
  words: SignInWords
  nonce: string
}

interface PageState {
  step: Step
  account?: string
  tfaKey?: string
  handoff: Handoff
  /** This browser's CSRF token, repeated in every form. */
  csrf: string
  error?: string
  /** The error is about what was typed (not, say, a rate limit): the fields are marked invalid. */
  invalid?: boolean
  notice?: string
}

/** The `user_login` message Bambu Studio's login window takes through `window.wx.postMessage`. */
interface UserLoginMessage {
  command: 'user_login'
  data: {
    token: string
    refresh_token: string
    expires_in: number
    refresh_expires_in: number
    user: { uid: string; name: string; nickname: string; account: string; avatar: string }
  }
}

/** A posted field as text; anything else (a JSON number, array, ...) counts as absent. */
function field(form: Record<string, unknown>, name: string): string | undefined {
  const value = form[name]
  return typeof value === 'string' ? value : undefined
}

/** The slicer's login window names itself in its user agent. */
function fromSlicer(request: FastifyRequest): boolean {
  return /BBL-Slicer|BambuStudio|Bambu_Studio|OrcaSlicer/i.test(request.headers['user-agent'] ?? '')
}

function handoffOf(request: FastifyRequest, posted?: string): Handoff {
  if (posted === 'ticket' || posted === 'message') return posted
  if (posted === undefined && (request.query as Record<string, unknown>).client === 'studio') return 'ticket'
  return fromSlicer(request) ? 'message' : 'none'
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** A sentence with one `{placeholder}`, escaped, the value in bold. */
function withStrong(sentence: string, placeholder: string, value: string): string {
  const [before, after] = sentence.split(`{${placeholder}}`) as [string, string?]
  return `${esc(before)}<strong>${esc(value)}</strong>${esc(after ?? '')}`
}

/** JSON safe to put inside a <script> element: nothing in it can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Where the error message is, for the fields' aria-describedby. */
const ERROR_ID = 'form-error'

function layout(page: Page, title: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="${esc(page.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · bambu-cloud</title>
<style nonce="${page.nonce}">
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d1d1f;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin-top:0}
label{display:block;margin:1rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #888;border-radius:4px}
input:focus,button:focus{outline:3px solid #00ae42;outline-offset:1px}
button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;background:#00ae42;color:#fff;border:0;border-radius:4px;cursor:pointer}
.link{background:none;color:#00703c;text-decoration:underline;width:auto;padding:0;margin-top:1rem}
.error{background:#fde8e8;color:#8a1c1c;padding:.7rem;border-radius:4px}
.notice{background:#e8f5ec;color:#14532d;padding:.7rem;border-radius:4px}
</style>
</head>
<body>
<main>
${body}
</main>
${script}</body>
</html>
`
}

function messages(state: PageState): string {
  let out = ''
  if (state.error) out += `<p class="error" id="${ERROR_ID}" role="alert">${esc(state.error)}</p>\n`
  if (state.notice) out += `<p class="notice" role="status">${esc(state.notice)}</p>\n`
  return out
}

function hidden(name: string, value: string | undefined): string {
  return value === undefined ? '' : `<input type="hidden" name="${name}" value="${esc(value)}">\n`
}

/** Ties a field to the error message, so assistive technology reads them together. */
function described(state: PageState): string {
  if (!state.error) return ''
  return ` aria-describedby="${ERROR_ID}"${state.invalid ? ' aria-invalid="true"' : ''}`
}

/** Back to the first step, keeping whether Studio is waiting for a ticket. */
function startOver(page: Page, state: PageState): string {
  return `<p><a href="${esc(page.path)}${state.handoff === 'ticket' ? '?client=studio' : ''}">${esc(page.words.startOver)}</a></p>`
}

/** The page title names an error first, as that is what a screen reader announces on load. */
function titled(page: Page, state: PageState, title: string): string {
  return state.error ? `${page.words.errorTitle}${title}` : title
}

export function renderForm(page: Page, state: PageState): string {
  const w = page.words
  const action = esc(page.path)
  const common = hidden('csrf', state.csrf) + hidden('handoff', state.handoff)
  const aria = described(state)
  if (state.step === 'code') {
    return layout(
      page,
      titled(page, state, w.enterCode),
      `<h1>${esc(w.enterCode)}</h1>
${messages(state)}<p>${withStrong(w.codeSent, 'account', state.account ?? '')}</p>
<form method="post" action="${action}">
${common}${hidden('step', 'code')}${hidden('account', state.account)}<label for="code">${esc(w.verificationCode)}</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" maxlength="6" required autofocus${aria}>
<button type="submit">${esc(w.signIn)}</button>
</form>
<form method="post" action="${action}">
${common}${hidden('step', 'resend')}${hidden('account', state.account)}<button type="submit" class="link">${esc(w.sendNewCode)}</button>
</form>
${startOver(page, state)}`,
    )
  }
  if (state.step === 'tfa') {
    return layout(
      page,
      titled(page, state, w.tfaTitle),
      `<h1>${esc(w.tfaTitle)}</h1>
${messages(state)}<p>${esc(w.tfaHint)}</p>
<form method="post" action="${action}">
${common}${hidden('step', 'tfa')}${hidden('tfaKey', state.tfaKey)}<label for="tfaCode">${esc(w.tfaCode)}</label>
<input id="tfaCode" name="tfaCode" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" maxlength="6" required autofocus${aria}>
<button type="submit">${esc(w.verify)}</button>
</form>
${startOver(page, state)}`,
    )
  }
  return layout(
    page,
    titled(page, state, w.signIn),
    `<h1>${esc(w.signIn)}</h1>
${messages(state)}<form method="post" action="${action}">
${common}${hidden('step', 'password')}<label for="account">${esc(w.account)}</label>
<input id="account" name="account" type="text" autocomplete="username" value="${esc(state.account ?? '')}" required autofocus${aria}>
<label for="password">${esc(w.password)}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${aria}>
<button type="submit">${esc(w.signIn)}</button>
</form>`,
  )
}

/** The signed-in page; with a slicer login, the script that hands it to the slicer's window. */
function signedIn(page: Page, name: string, login: UserLoginMessage | undefined): string {
  const script = login
    ? `<script nonce="${page.nonce}">
if (window.wx && typeof window.wx.postMessage === 'function') window.wx.postMessage(JSON.stringify(${scriptJson(login)}))
</script>
`
    : ''
  return layout(
    page,
    page.words.signedInTitle,
    `<h1>${esc(page.words.signedInHeading)}</h1>
<p role="status">${withStrong(page.words.signedInAs, 'name', name)}</p>`,
    script,
  )
}

function userLogin(pair: TokenPair, user: UserRow | undefined): UserLoginMessage {
  const name = user?.name ?? ''
  return {
    command: 'user_login',
    data: {
      token: pair.accessToken,
      refresh_token: pair.refreshToken,
      expires_in: pair.expiresIn,
      refresh_expires_in: pair.refreshExpiresIn,
      user: { uid: String(pair.uid), name, nickname: name, account: user?.account ?? '', avatar: user?.avatar ?? '' },
    },
  }
}

/**
 * Every page: never cached (the signed-in page may carry tokens), never framed, and only
 * its own nonce'd style and script run. Forms post here; a ticket redirect goes to Studio.
 */
function html(reply: FastifyReply, page: Page, status: number, body: string) {
  const csp = [
    "default-src 'none'",
    `style-src 'nonce-${page.nonce}'`,
    `script-src 'nonce-${page.nonce}'`,
    `form-action 'self' ${new URL(STUDIO_CALLBACK).origin}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
  return reply.code(status).header('content-security-policy', csp).type('text/html; charset=utf-8').send(body)
}

/** Every answer of the page, errors and redirects included: never cached (it sets token cookies), never framed. */
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
}

export default async function signInPageRoutes(app: App) {
  const { login, tickets, accounts, tokens } = app.services
  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(PAGE_HEADERS)
  })

  /** The page's path and words; a language segment that is not a language tag is no page at all. */
  function pageOf(request: FastifyRequest): Page {
    const lang = (request.params as { lang?: string }).lang
    if (lang !== undefined && !isLanguageTag(lang)) throw new ApiError('notFound', 'No such route')
    return { path: lang === undefined ? '/sign-in' : `/${lang}/sign-in`, ...wordsFor(lang), nonce: randomToken(16) }
  }

  async function finish(reply: FastifyReply, page: Page, uid: number, handoff: Handoff) {
    if (handoff === 'ticket') {
      const { ticket } = await tickets.issue(uid, 'web')
      return reply.code(303).redirect(`${STUDIO_CALLBACK}?ticket=${encodeURIComponent(ticket)}`, 303)
    }
    const user = await accounts.byUid(uid)
    // The slicer keeps a login of its own, as with a ticket, so signing out here leaves it signed in.
    const message = handoff === 'message' ? userLogin(await tokens.startLogin(uid, 'ticket'), user) : undefined
    return html(reply, page, 200, signedIn(page, user?.name ?? user?.account ?? '', message))
  }

  async function showPage(request: FastifyRequest, reply: FastifyReply) {
    const page = pageOf(request)
    const handoff = handoffOf(request)
    // Already signed in here: no need to type the password again.
    const cookie = readCookies(request).token
    const principal = cookie ? await tokens.authenticate(cookie) : null
    if (principal) return finish(reply, page, principal.uid, handoff)
    const csrf = csrfTokenFor(request, reply, app.config.publicUrl)
    return html(reply, page, 200, renderForm(page, { step: 'password', handoff, csrf }))
  }

  async function submitForm(request: FastifyRequest, reply: FastifyReply) {
    const page = pageOf(request)
    const w = page.words
    const form = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>
    const step = field(form, 'step') ?? 'password'
    const account = (field(form, 'account') ?? '').trim()
    const state: PageState = {
      step: step === 'code' || step === 'resend' ? 'code' : step === 'tfa' ? 'tfa' : 'password',
      handoff: handoffOf(request, field(form, 'handoff')),
      account,
      csrf: '',
    }
    if (state.step === 'tfa') state.tfaKey = field(form, 'tfaKey') ?? ''
    // Double submit: the form repeats this browser's cookie, which another site cannot read.
    const csrfFailed = csrfFailure(csrfCookieOf(request), field(form, 'csrf')) !== null
    state.csrf = csrfTokenFor(request, reply, app.config.publicUrl)
    if (csrfFailed) return html(reply, page, 403, renderForm(page, { ...state, error: w.formExpired }))
    try {
      let outcome: LoginOutcome
      switch (step) {
        case 'code':
          outcome = await login.withCode(account, field(form, 'code') ?? '', request.ip)
          break
        case 'resend':
          await login.sendCode(account, 'email_code')
          return html(reply, page, 200, renderForm(page, { ...state, notice: w.newCodeSent }))
        case 'tfa':
          outcome = { kind: 'tokens', pair: await login.withTfa(state.tfaKey!, field(form, 'tfaCode') ?? '', request.ip) }
          break
        default: {
          const password = field(form, 'password')
          if (account === '' || !password) {
            return html(reply, page, 400, renderForm(page, { ...state, error: w.missingFields, invalid: true }))
          }
          outcome = await login.withPassword(account, password, request.ip)
        }
      }
      if (outcome.kind === 'verifyCode') return html(reply, page, 200, renderForm(page, { ...state, step: 'code' }))
      if (outcome.kind === 'tfa') return html(reply, page, 200, renderForm(page, { ...state, step: 'tfa', tfaKey: outcome.tfaKey }))
      setTokenCookies(reply, outcome.pair, app.config.publicUrl)
      return finish(reply, page, outcome.pair.uid, state.handoff)
    } catch (err) {
      if (!(err instanceof ApiError)) throw err
      reply.headers(err.headers)
      const text =
        err.kind === 'incorrectPassword'
          ? w.incorrectPassword
          : err.kind === 'incorrectCode'
            ? w.incorrectCode
            : err.kind === 'codeExpired'
              ? w.codeExpired
              : err.kind === 'loginFailed'
                ? w.tfaFailed
                : err.body.message ?? err.body.error
      return html(reply, page, err.status, renderForm(page, { ...state, error: text, invalid: err.kind !== 'tooManyRequests' }))
    }
  }

  const route = { config: { auth: 'none' as const }, schema: { hide: true } }
  for (const path of ['/sign-in', '/:lang/sign-in']) {
    app.get(path, route, showPage)
    app.post(path, route, submitForm)
  }
}
