/**
 * Tabs of one real headless Chromium context, each running the test page of
 * an application from ./apps.ts, and the few things the tests do in them.
 * What runs in a page is written as a string: the page's `window.lk` (the
 * session) and `window.events` (every event it emitted) are the page's own.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../e2e/chromium.js';

/** What a page's session says, as `getState()` returns it. */
export interface PageState {
  status: 'unknown' | 'signed-in' | 'signed-out';
  user: unknown;
  idleDeadline: number | null;
  absoluteDeadline: number | null;
  reason: string | null;
}

export interface PageEvent {
  type: string;
  at: number;
  event: Record<string, unknown>;
}

let browser: Browser | undefined;

/** One Chromium for the file; closed by {@link closeBrowser}. */
export async function chromium(): Promise<Browser> {
  browser ??= await launchChromium();
  return browser;
}

export async function closeBrowser(): Promise<void> {
  await browser?.close();
  browser = undefined;
}

/**
 * A fresh browser context (one profile: shared cookies, storage, channels
 * and locks between its pages). `without` removes Web Locks and/or
 * `BroadcastChannel` before any page script runs, to exercise the fallbacks.
 */
export async function newContext(without: { locks?: boolean; broadcastChannel?: boolean } = {}): Promise<BrowserContext> {
  const context = await (await chromium()).newContext();
  context.setDefaultTimeout(15_000);
  if (without.locks) await context.addInitScript('delete Navigator.prototype.locks');
  if (without.broadcastChannel) await context.addInitScript('delete globalThis.BroadcastChannel');
  return context;
}

/** Opens a tab on `url` and waits until its session knows whether it is signed in. */
export async function openTab(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`page error in ${url}: ${err.message}`));
  await page.goto(url);
  await page.waitForFunction('window.lk !== undefined');
  await page.evaluate('window.lk.ready');
  return page;
}

export function state(page: Page): Promise<PageState> {
  return page.evaluate('window.lk.getState()') as Promise<PageState>;
}

export function events(page: Page, type?: string): Promise<PageEvent[]> {
  return page.evaluate(`window.events${type === undefined ? '' : `.filter((e) => e.type === ${JSON.stringify(type)})`}`) as Promise<PageEvent[]>;
}

/** `session.fetch(path)` in the page: the status and the JSON body. */
export function fetchIn(page: Page, path: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  return page.evaluate(`window.lk.fetch(${JSON.stringify(path)}, { method: ${JSON.stringify(method)} }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => ({})) }))`) as Promise<{
    status: number;
    body: Record<string, unknown>;
  }>;
}

/** Signs in from the page with `session.signIn(path)`; resolves the answer's status. */
export function signIn(page: Page, path: string, user: unknown): Promise<number> {
  return page.evaluate(`window.lk.signIn(${JSON.stringify(path)}, {}, ${JSON.stringify(user)}).then((r) => r.status)`) as Promise<number>;
}

/** Waits until the page's state has `status`. */
export async function until(page: Page, status: PageState['status'], timeout = 5_000): Promise<void> {
  await page.waitForFunction(`window.lk.getState().status === ${JSON.stringify(status)}`, undefined, { timeout });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
