/**
 * The sign-in page Bambu Studio's login window loads from the web host. Plain HTML forms,
 * no JavaScript: account and password, then the emailed code or the TFA code when the
 * account needs one. On success it sets the token cookies and hands Studio a ticket by
 * redirecting to Studio's local callback; a person in a browser is told they are signed in.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../../errors.ts'
import { readCookies, setTokenCookies } from '../../http/cookies.ts'
import type { App } from '../../http/types.ts'
import type { LoginOutcome } from '../../services/login.ts'

/** Where Bambu Studio listens for the ticket during its login. */
export const STUDIO_CALLBACK = 'http://localhost:13618/'

type Step = 'password' | 'code' | 'tfa'

interface PageState {
  step: Step
  account?: string
  tfaKey?: string
  studio: boolean
  error?: string
  /** The error is about what was typed (not, say, a rate limit): the fields are marked invalid. */
  invalid?: boolean
  notice?: string
}

/** A posted field as text; anything else (a JSON number, array, ...) counts as absent. */
function field(form: Record<string, unknown>, name: string): string | undefined {
  const value = form[name]
  return typeof value === 'string' ? value : undefined
}

/** Studio's web view names itself in its user agent; `?client=studio` says so explicitly. */
function fromStudio(request: FastifyRequest): boolean {
  const query = request.query as Record<string, string | undefined>
  const ua = request.headers['user-agent'] ?? ''
  return query.client === 'studio' || /BBL-Slicer|BambuStudio|Bambu_Studio|OrcaSlicer/i.test(ua)
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** Where the error message is, for the fields' aria-describedby. */
const ERROR_ID = 'form-error'

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · bambu-cloud</title>
<style>
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
</body>
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
function startOver(state: PageState): string {
  return `<p><a href="/sign-in${state.studio ? '?client=studio' : ''}">Start over with a different account</a></p>`
}

/** The page title names an error first, as that is what a screen reader announces on load. */
function titled(state: PageState, title: string): string {
  return state.error ? `Error: ${title}` : title
}

export function renderForm(state: PageState): string {
  const common = hidden('studio', state.studio ? '1' : '0')
  const aria = described(state)
  if (state.step === 'code') {
    return layout(
      titled(state, 'Enter your code'),
      `<h1>Enter your code</h1>
${messages(state)}<p>We sent a 6-digit code to <strong>${esc(state.account ?? '')}</strong>. It is valid for 5 minutes.</p>
<form method="post" action="/sign-in">
${common}${hidden('step', 'code')}${hidden('account', state.account)}<label for="code">Verification code</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" maxlength="6" required autofocus${aria}>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/sign-in">
${common}${hidden('step', 'resend')}${hidden('account', state.account)}<button type="submit" class="link">Send a new code</button>
</form>
${startOver(state)}`,
    )
  }
  if (state.step === 'tfa') {
    return layout(
      titled(state, 'Two-factor authentication'),
      `<h1>Two-factor authentication</h1>
${messages(state)}<p>Enter the 6-digit code from your authenticator app.</p>
<form method="post" action="/sign-in">
${common}${hidden('step', 'tfa')}${hidden('tfaKey', state.tfaKey)}<label for="tfaCode">Authentication code</label>
<input id="tfaCode" name="tfaCode" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" maxlength="6" required autofocus${aria}>
<button type="submit">Verify</button>
</form>
${startOver(state)}`,
    )
  }
  return layout(
    titled(state, 'Sign in'),
    `<h1>Sign in</h1>
${messages(state)}<form method="post" action="/sign-in">
${common}${hidden('step', 'password')}<label for="account">Email or phone</label>
<input id="account" name="account" type="text" autocomplete="username" value="${esc(state.account ?? '')}" required autofocus${aria}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${aria}>
<button type="submit">Sign in</button>
</form>`,
  )
}

function signedIn(name: string): string {
  return layout(
    'Signed in',
    `<h1>You are signed in</h1>
<p role="status">Signed in as <strong>${esc(name)}</strong>. You can close this page.</p>`,
  )
}

function html(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).type('text/html; charset=utf-8').send(body)
}

/** Every answer of the page: never cached (it sets token cookies), never framed (no clickjacking). */
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
}

export default async function signInPageRoutes(app: App) {
  const { login, tickets, accounts, tokens } = app.services
  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(PAGE_HEADERS)
  })

  async function finish(reply: FastifyReply, uid: number, studio: boolean) {
    if (studio) {
      const { ticket } = await tickets.issue(uid, 'web')
      return reply.code(303).redirect(`${STUDIO_CALLBACK}?ticket=${encodeURIComponent(ticket)}`, 303)
    }
    const user = await accounts.byUid(uid)
    return html(reply, 200, signedIn(user?.name ?? user?.account ?? ''))
  }

  app.get('/sign-in', { config: { auth: 'none' }, schema: { hide: true } }, async (request, reply) => {
    const studio = fromStudio(request)
    // Already signed in here: no need to type the password again.
    const cookie = readCookies(request).token
    const principal = cookie ? await tokens.authenticate(cookie) : null
    if (principal) return finish(reply, principal.uid, studio)
    return html(reply, 200, renderForm({ step: 'password', studio }))
  })

  app.post('/sign-in', { config: { auth: 'none' }, schema: { hide: true } }, async (request, reply) => {
    const form = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>
    const studio = field(form, 'studio') === '1' || fromStudio(request)
    const step = field(form, 'step') ?? 'password'
    const account = (field(form, 'account') ?? '').trim()
    const state: PageState = { step: 'password', studio, account }
    try {
      let outcome: LoginOutcome
      switch (step) {
        case 'code':
          state.step = 'code'
          outcome = await login.withCode(account, field(form, 'code') ?? '', request.ip)
          break
        case 'resend':
          state.step = 'code'
          await login.sendCode(account, 'email_code')
          return html(reply, 200, renderForm({ ...state, notice: 'A new code is on its way.' }))
        case 'tfa':
          state.step = 'tfa'
          state.tfaKey = field(form, 'tfaKey') ?? ''
          outcome = { kind: 'tokens', pair: await login.withTfa(state.tfaKey, field(form, 'tfaCode') ?? '', request.ip) }
          break
        default: {
          const password = field(form, 'password')
          if (account === '' || !password) {
            return html(reply, 400, renderForm({ ...state, error: 'Enter your account and password.', invalid: true }))
          }
          outcome = await login.withPassword(account, password, request.ip)
        }
      }
      if (outcome.kind === 'verifyCode') return html(reply, 200, renderForm({ ...state, step: 'code' }))
      if (outcome.kind === 'tfa') return html(reply, 200, renderForm({ ...state, step: 'tfa', tfaKey: outcome.tfaKey }))
      setTokenCookies(reply, outcome.pair, app.config.publicUrl)
      return finish(reply, outcome.pair.uid, studio)
    } catch (err) {
      if (!(err instanceof ApiError)) throw err
      reply.headers(err.headers)
      const text =
        err.kind === 'incorrectPassword'
          ? 'Incorrect account or password.'
          : err.kind === 'incorrectCode'
            ? 'That code is not right. Try again.'
            : err.kind === 'codeExpired'
              ? 'That code has expired. Ask for a new one.'
              : err.kind === 'loginFailed'
                ? 'That code did not work. Try the current one from your app.'
                : err.body.message ?? err.body.error
      return html(reply, err.status, renderForm({ ...state, error: text, invalid: err.kind !== 'tooManyRequests' }))
    }
  })
}
