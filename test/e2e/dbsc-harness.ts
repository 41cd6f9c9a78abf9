/**
 * A real-browser DBSC harness: a throwaway certificate that headless
 * Chromium trusts (by its SPKI hash), for the HTTPS test site
 * (test/support/dbsc-site.ts), and Chromium launched with DBSC and software
 * keys on, whose DevTools events are recorded.
 *
 * Chromium acts on DBSC only over HTTPS whose certificate verifies without
 * error (not over http://localhost, not with the error merely bypassed), so
 * the certificate is made trusted with --ignore-certificate-errors-spki-list.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from './chromium.js';

/** A certificate for `localhost` and 127.0.0.1, and the base64 SHA-256 of its SubjectPublicKeyInfo. */
export interface TestCertificate {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly spki: string;
}

/** Makes a one-day P-256 certificate with openssl, in `dir`. */
export function makeCertificate(dir: string): TestCertificate {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    '/usr/bin/openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { stdio: 'pipe' },
  );
  const cert = readFileSync(certPath);
  const der = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return { key: readFileSync(keyPath), cert, spki: createHash('sha256').update(der).digest('base64') };
}

/** Flags that turn DBSC on with software keys, lift the signing quota, and trust the test certificate. */
export function dbscChromiumArgs(spki: string): string[] {
  return [
    ...CHROMIUM_ARGS,
    '--enable-features=DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting',
    `--ignore-certificate-errors-spki-list=${spki}`,
    '--host-resolver-rules=MAP localhost 127.0.0.1',
  ];
}

/** Launches Chromium with a persistent profile in `userDataDir` (DBSC sessions live in the profile). */
export async function launchDbscChromium(executablePath: string, userDataDir: string, spki: string): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: dbscChromiumArgs(spki),
    timeout: 30_000,
  });
  context.setDefaultTimeout(15_000);
  return context;
}

/** DevTools' DBSC events of one page: sessions added and events (creation, refresh, challenge, termination). */
export interface DbscEvents {
  readonly added: Array<Record<string, unknown>>;
  readonly occurred: Array<Record<string, unknown>>;
  readonly cdp: CDPSession;
}

/** Starts recording DevTools' DBSC events for `page`. */
export async function watchDbsc(context: BrowserContext, page: Page): Promise<DbscEvents> {
  const cdp = await context.newCDPSession(page);
  const events: DbscEvents = { added: [], occurred: [], cdp };
  const on = cdp.on.bind(cdp) as (event: string, listener: (params: Record<string, unknown>) => void) => void;
  on('Network.deviceBoundSessionsAdded', (params) => events.added.push(params));
  on('Network.deviceBoundSessionEventOccurred', (params) => events.occurred.push(params));
  const sendCommand = cdp.send.bind(cdp) as (method: string, params?: Record<string, unknown>) => Promise<unknown>;
  await sendCommand('Network.enable');
  await sendCommand('Network.enableDeviceBoundSessions', { enable: true });
  return events;
}

/** Waits until `predicate` holds, polling; `false` when `timeoutMs` passed first. */
export async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return predicate();
}
