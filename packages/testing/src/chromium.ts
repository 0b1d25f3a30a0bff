/**
 * Headless system Chromium driven by playwright-core (no bundled browser download): a fresh
 * profile per run, nothing fetched from the internet, screenshots kept as test artefacts.
 * Its own entry point (`@anfang/testing/chromium`), so the infrastructure fixtures do not load
 * playwright.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.ANFANG_CHROMIUM ?? '/usr/bin/chromium';
/** Where CI collects artefacts from: the repository's .cache/test-results (never committed). */
const RESULTS = resolve(here, '../../../.cache/test-results');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  readonly page: Page;
  readonly context: BrowserContext;
  /** The folder of this run's screenshots and `browser.log`. */
  readonly artefacts: string;
  /** Saves a full-page screenshot as `<n>-<name>.png` in `artefacts`; returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts Chromium with one page. `artefacts` names the test's folder under
 * .cache/test-results (e.g. `gateway-dashboard`), emptied first, where screenshots and the page's
 * log go.
 */
export async function launchBrowser(options: { readonly artefacts: string }): Promise<Browser> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(options.artefacts))
    throw new Error(`artefacts must be a folder name of [a-z0-9-], not ${options.artefacts}`);
  const artefacts = join(RESULTS, options.artefacts);
  // Installs Chromium on a fresh machine (apt); a no-op when it is there.
  execFileSync('bash', [join(here, '../scripts/ensure-chromium.sh')], { stdio: 'inherit' });
  // Only this run's pictures: an earlier run's would pass for this one's.
  await rm(artefacts, { recursive: true, force: true });
  await mkdir(artefacts, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), 'anfang-chromium-'));
  // playwright passes the profile as --user-data-dir itself (it refuses it in args).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1600, height: 1000 },
    locale: 'zh-CN',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // What the page itself complained about, kept beside the screenshots for whoever reads a failure.
  const log: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      log.push(`console.${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => log.push(`pageerror: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400)
      log.push(`${response.status()} ${response.request().method()} ${response.url()}`);
  });
  let shots = 0;
  return {
    page,
    context,
    artefacts,
    async screenshot(name) {
      const path = join(artefacts, `${String(++shots).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await writeFile(join(artefacts, 'browser.log'), log.join('\n') + '\n');
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
