import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium, driven by playwright-core (the web UI tests need a real browser). */
export const CHROMIUM = '/usr/bin/chromium';
export const hasBrowser = existsSync(CHROMIUM);

/** Without the browser every test FAILS with the fix (a throw in beforeAll would count as skipped). */
export function needBrowser(): void {
  if (!hasBrowser) {
    throw new Error(
      `${CHROMIUM} is missing: the web UI test drives a real browser. Install it with \`apt-get install -y chromium\` (as root; .ci/run does this)`,
    );
  }
}

export interface BrowserPage {
  browser: Browser;
  page: Page;
  /** Every dialog the page opened (`type: message`); each is dismissed. */
  dialogs: string[];
  /** Script errors and console errors (a CSP violation says "Refused to ..."). */
  pageErrors: string[];
}

/**
 * A headless browser with one 1360×900 page that records its dialogs and errors. A console
 * "Failed to load resource" is not an error here: refusals (401, 403, 409) are answers tests ask for.
 */
export async function openBrowserPage(options: { defaultTimeoutMs?: number } = {}): Promise<BrowserPage> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  if (options.defaultTimeoutMs) page.setDefaultTimeout(options.defaultTimeoutMs);
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  return { browser, page, dialogs, pageErrors };
}
