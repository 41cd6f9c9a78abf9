/**
 * Server nonces of DPoP (RFC 9449 sections 8 and 9) that every instance
 * agrees on without sharing any state.
 *
 * A nonce names a time step and authenticates it:
 * `base64url(step as 4 bytes big-endian || HMAC-SHA256(key, label || step length || step)[0..16])`,
 * where `step = floor(now / stepMs)`. Any instance holding the same secret
 * mints the same nonce during a step, and accepts a nonce of the current
 * step or of one step either side: the previous one, so that a nonce handed
 * out just before a step ends stays good for at least a whole step, and the
 * next one, so that instances whose clocks differ by less than a step
 * accept each other's nonces. A nonce therefore proves that the proof was
 * made at most two steps ago, whatever the client's clock says.
 *
 * The secret comes as a list, newest first: the newest mints, all verify,
 * so a secret can be rotated without refusing the nonces already out.
 *
 * @module
 * @internal
 */
import { fromBase64url, hmacSha256, timingSafeEqual, toBase64url, toUtf8 } from '#primitives';

const LABEL = 'latchkey dpop-nonce v1\0';
const MAC_BYTES = 16;
const NONCE_BYTES = 4 + MAC_BYTES;
const NONCE_SHAPE = /^[A-Za-z0-9_-]{27}$/;

/**
 * What a presented nonce turned out to be: `'ok'`, or `'due'` when it is
 * good but not the freshest there is (of the previous step, or minted with
 * an older secret), so that the client should be handed the current one
 * before it goes stale; `'stale'` or `'invalid'` when refused.
 */
export type NonceVerdict = 'ok' | 'due' | 'stale' | 'invalid';

/** @internal mints and checks stateless DPoP nonces */
export class DpopNonces {
  readonly #keys: readonly Uint8Array[];
  readonly #stepMs: number;
  #cachedStep = -1;
  #cached = '';

  constructor(keys: readonly Uint8Array[], stepMs: number) {
    this.#keys = keys;
    this.#stepMs = stepMs;
  }

  /** The nonce to hand out at `now` (ms): the same on every instance during a step. */
  current(now: number): string {
    const step = Math.floor(now / this.#stepMs);
    if (step !== this.#cachedStep) {
      const bytes = new Uint8Array(NONCE_BYTES);
      new DataView(bytes.buffer).setUint32(0, step >>> 0);
      bytes.set(this.#mac(this.#keys[0] as Uint8Array, bytes.subarray(0, 4)), 4);
      this.#cached = toBase64url(bytes);
      this.#cachedStep = step;
    }
    return this.#cached;
  }

  /**
   * Whether `nonce` is one of ours, of the current step or one either side,
   * and whether it is due to be replaced (see {@link NonceVerdict}). Never
   * throws.
   */
  check(nonce: unknown, now: number): NonceVerdict {
    if (typeof nonce !== 'string' || !NONCE_SHAPE.test(nonce)) return 'invalid';
    // The common case, a proof carrying the nonce handed out now: no HMAC to compute (and a public value, so a plain comparison).
    if (nonce === this.current(now)) return 'ok';
    const bytes = fromBase64url(nonce);
    if (bytes.length !== NONCE_BYTES) return 'invalid';
    const stepBytes = bytes.subarray(0, 4);
    const presented = bytes.subarray(4);
    // Authenticate before looking at the step, so that a forged nonce is never reported as merely stale.
    const key = this.#keys.findIndex((k) => timingSafeEqual(this.#mac(k, stepBytes), presented));
    if (key === -1) return 'invalid';
    const step = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
    const current = Math.floor(now / this.#stepMs) >>> 0;
    if (Math.abs(step - current) > 1) return 'stale';
    // A nonce of the next step (an instance whose clock runs ahead) is fresher than ours: the client keeps it.
    return step < current || (key > 0 && step === current) ? 'due' : 'ok';
  }

  #mac(key: Uint8Array, stepBytes: Uint8Array): Uint8Array {
    // The step length is authenticated too: deployments configured with different steps never read each other's numbers.
    return hmacSha256(key, [toUtf8(`${LABEL}${this.#stepMs}\0`), stepBytes]).subarray(0, MAC_BYTES);
  }
}
