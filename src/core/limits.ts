/**
 * Bounds shared by the argument checks (arguments.ts) and the Store contract
 * (store.ts), in a module of their own so that neither imports the other.
 *
 * @module
 * @internal
 */

/** Longest user id, in characters. */
export const MAX_USER_ID = 256;
