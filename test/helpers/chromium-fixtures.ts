/**
 * The fixtures of a test file that drives headless Chromium against servers
 * it starts: the package built first (the pages load dist/browser/), one
 * browser for the file, and every context and server closed after it, in
 * that order (contexts, browser, servers), whatever the tests did.
 */
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { closeBrowser, newContext } from '../browser/support/tabs.js';
import { ensureBuilt } from '../cli/built.js';

export interface ChromiumFixtures {
  /** A fresh browser context (see `newContext()`), closed after the file. */
  context(without?: Parameters<typeof newContext>[0]): Promise<BrowserContext>;
  /** Closes `server` after the file, once the browser is closed; returns it. */
  closeAfter<T extends { close(): Promise<void> }>(server: T): T;
}

/** Call at the top of a `describe`: registers its `beforeAll` and `afterAll`. */
export function chromiumFixtures(): ChromiumFixtures {
  const contexts: BrowserContext[] = [];
  const servers: Array<{ close(): Promise<void> }> = [];
  beforeAll(() => ensureBuilt(), 200_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await closeBrowser();
    for (const s of servers) await s.close();
  });
  return {
    async context(without) {
      const context = await newContext(without);
      contexts.push(context);
      return context;
    },
    closeAfter(server) {
      servers.push(server);
      return server;
    },
  };
}
