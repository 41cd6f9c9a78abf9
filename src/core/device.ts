/**
 * A small user-agent classifier for the "your devices" page: browser family,
 * operating system and form factor. It is deliberately coarse (no versions, no
 * models) so that the result is stable across browser updates and cheap to
 * store; it runs once per sign-in, never per request.
 *
 * @module
 */
import type { Device } from './model.js';

const MAX_UA = 512;

// Order matters: many browsers carry "Chrome" or "Safari" in their UA.
const BROWSERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bYaBrowser\//, 'Yandex'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:Chrome|CriOS|Chromium|HeadlessChrome)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bcurl\//i, 'curl'],
  [/\bnode(?:-fetch)?\b|\bundici\b/i, 'Node.js'],
  [/\bpython-requests\/|\bpython-urllib|\baiohttp\//i, 'Python'],
  [/\bokhttp\//i, 'OkHttp'],
  [/\bPostmanRuntime\//, 'Postman'],
];

const BOT = /bot\b|crawler|spider|slurp|facebookexternalhit|preview/i;

const OSES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(?:iPhone|iPod)\b/, 'iOS'],
  [/\biPad\b/, 'iPadOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

const UNKNOWN: Device = Object.freeze({ browser: 'Unknown', os: 'Unknown', type: 'unknown' });

// Results are interned: the same (browser, os, type) is one frozen object, so
// a million sessions from Chrome on Windows share one Device.
const interned = new Map<string, Device>();

/**
 * Classifies a `User-Agent` header. Never throws; anything unrecognised is
 * `'Unknown'`.
 *
 * @example
 * ```ts
 * parseUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) ... Version/17.0 Mobile/15E148 Safari/604.1');
 * // { browser: 'Safari', os: 'iOS', type: 'mobile' }
 * ```
 */
export function parseUserAgent(userAgent: string | null | undefined): Device {
  if (typeof userAgent !== 'string' || userAgent === '') return UNKNOWN;
  const ua = userAgent.length > MAX_UA ? userAgent.slice(0, MAX_UA) : userAgent;
  let browser = 'Unknown';
  for (const [re, name] of BROWSERS) {
    if (re.test(ua)) {
      browser = name;
      break;
    }
  }
  let os = 'Unknown';
  for (const [re, name] of OSES) {
    if (re.test(ua)) {
      os = name;
      break;
    }
  }
  let type: Device['type'];
  if (BOT.test(ua)) type = 'bot';
  else if (os === 'iPadOS' || /\bTablet\b/i.test(ua) || (os === 'Android' && !/\bMobile\b/.test(ua))) type = 'tablet';
  else if (os === 'iOS' || /\bMobile\b|\bMobi\b/.test(ua)) type = 'mobile';
  else if (os !== 'Unknown') type = 'desktop';
  else type = 'unknown';
  return intern(browser, os, type);
}

function intern(browser: string, os: string, type: Device['type']): Device {
  const key = `${browser}|${os}|${type}`;
  let d = interned.get(key);
  if (d === undefined) {
    d = Object.freeze({ browser, os, type });
    interned.set(key, d);
  }
  return d;
}

/** @internal restores an interned Device from stored fields */
export function device(browser: string, os: string, type: Device['type']): Device {
  return intern(String(browser).slice(0, 64), String(os).slice(0, 64), type);
}
