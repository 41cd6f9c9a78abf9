/**
 * Where a refresh family keeps the DPoP key it is bound to (RFC 9449
 * section 5): the RFC 7638 thumbprint of the key that signed the proof at
 * sign-in, in the family's data under one name that rotation carries from
 * record to record for the family's whole life.
 *
 * @module
 * @internal
 */
import type { SessionData } from '../../core/model.js';

/** @internal the data key of a family's bound key thumbprint (public: a hash of a public key) */
export const FAMILY_JKT = 'latchkey.jkt';

/** @internal the thumbprint a family is bound to, or `null` for an unbound family */
export function boundJkt(data: SessionData): string | null {
  const jkt = data[FAMILY_JKT];
  return typeof jkt === 'string' ? jkt : null;
}
