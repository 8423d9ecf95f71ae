// A headless Chromium for the dashboard's end-to-end tests, driven by pytest over pipes.
//
// Starts Debian's chromium through playwright-core, then reads one JSON command per line on
// stdin and answers one JSON line on stdout: {"ok": RESULT} or {"error": MESSAGE}.
//   {"op": "goto", "url": U}                      -> HTTP status of the page
//   {"op": "eval", "js": EXPR}                    -> the expression's value
//   {"op": "wait", "js": EXPR, "timeout_ms": N}   -> true once EXPR is truthy
//   {"op": "screenshot", "path": P}               -> P (a full-page PNG)
//   {"op": "errors"}                              -> console errors and page errors so far
// The browser closes when stdin closes.
import { createInterface } from 'node:readline'
import { chromium } from 'playwright-core'

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium'
const browser = await chromium.launch({
  executablePath,
  // Playwright gives every launch a fresh temporary profile (its --user-data-dir).
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync']
})
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
const errors = []
page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()) })
page.on('pageerror', (err) => errors.push(String(err)))

const ops = {
  goto: async (c) => (await page.goto(c.url, { waitUntil: 'load' }))?.status() ?? null,
  eval: async (c) => page.evaluate(c.js),
  wait: async (c) => {
    await page.waitForFunction(c.js, null, { timeout: c.timeout_ms ?? 15000, polling: 100 })
    return true
  },
  screenshot: async (c) => { await page.screenshot({ path: c.path, fullPage: true }); return c.path },
  errors: async () => errors.splice(0)
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue
  let answer
  try {
    const command = JSON.parse(line)
    answer = { ok: await ops[command.op](command) }
  } catch (err) {
    answer = { error: String(err?.message ?? err) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
await browser.close()
