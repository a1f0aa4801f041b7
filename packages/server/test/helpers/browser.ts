/**
 * A real headless Chromium for tests: the system's own build (Debian's `chromium`, or
 * CHROMIUM_PATH), driven by playwright-core, which never downloads a browser. Without the
 * browser the tests fail and say how to get it; SKIP_BROWSER_TESTS=1 skips them on purpose.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

/** The `skip` option of a browser test: a reason when SKIP_BROWSER_TESTS=1, else false. */
export const skipBrowserTests: string | false = process.env.SKIP_BROWSER_TESTS === '1' ? 'SKIP_BROWSER_TESTS=1' : false

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Launches a fresh browser (its own user-data dir, so no cookies carry over) for one test,
 * closed and removed after it. Launch it before starting the server: `t.after` hooks run
 * in order, and a server closed first would wait for the browser's open connections.
 */
export async function launchBrowser(t: TestContext, options: { userAgent?: string; locale?: string } = {}): Promise<BrowserContext> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium), point CHROMIUM_PATH at one, or set SKIP_BROWSER_TESTS=1 to skip the browser tests`,
    )
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bambu-cloud-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    ...(options.locale ? { locale: options.locale } : {}),
  })
  t.after(async () => {
    await context.close()
    fs.rmSync(userDataDir, { recursive: true, force: true })
  })
  return context
}

/**
 * A new page that collects what the browser reports as going wrong (script errors, console
 * errors such as a Content-Security-Policy refusal), for a test to assert there is none.
 */
export async function openTab(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`)
  })
  return { page, problems }
}
