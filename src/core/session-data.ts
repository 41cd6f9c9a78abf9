/**
 * Typed session data, declared once for the whole application by module
 * augmentation (as express-session's `SessionData` is), and carried by every
 * adapter's request session (`req.session`, `c.var.session`, the handler's
 * `session`), in stateful and sealed mode alike:
 *
 * ```ts
 * declare module 'latchkey' {
 *   interface SessionDataTypes {
 *     cart: string[];
 *     theme: 'light' | 'dark';
 *   }
 * }
 * // then: session.get('cart') is string[] | undefined; session.set('theme', 'blue') does not compile
 * ```
 *
 * Augmentation rather than a type parameter of `createSessions()`: Express
 * and Fastify type `req.session` once for every route, where no type
 * parameter can reach, so one declaration is what carries through every
 * adapter. Until it is declared, keys are any string and values `unknown`.
 *
 * @module
 */

/**
 * The keys of session data and the type of each value. Empty until an
 * application declares its own (module augmentation of `'latchkey'`); then
 * only the declared keys are accepted by `get()`, `set()` and `unset()`.
 *
 * @example
 * ```ts
 * declare module 'latchkey' {
 *   interface SessionDataTypes {
 *     cart: string[];
 *   }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the application's module augmentation
export interface SessionDataTypes {}

/**
 * A key of session data: a declared key, or any string while none is declared.
 *
 * @example
 * ```ts
 * function clear(session: RequestSession, key: SessionDataKey) { session.unset(key); }
 * ```
 */
export type SessionDataKey = [keyof SessionDataTypes] extends [never] ? string : Extract<keyof SessionDataTypes, string>;

/**
 * The type of the value of key `K`: the declared type, or `unknown` for an undeclared key.
 *
 * @example
 * ```ts
 * type Cart = SessionDataValue<'cart'>; // string[] once declared
 * ```
 */
export type SessionDataValue<K extends string> = K extends keyof SessionDataTypes ? SessionDataTypes[K] : unknown;

/**
 * Initial data of a new session: the declared keys (each optional), or any
 * JSON object while none is declared.
 *
 * @example
 * ```ts
 * const data: SessionDataInput = { cart: [] };
 * ```
 */
export type SessionDataInput = [keyof SessionDataTypes] extends [never] ? Record<string, unknown> : { [K in keyof SessionDataTypes]?: SessionDataTypes[K] };
