/**
 * The `/v1` API as data: every route with the JSON schemas Fastify validates
 * against and the OpenAPI document is built from (`openapi.ts`), so the two
 * cannot drift apart. The handlers are in `api.ts`.
 *
 * @module
 */
import { MAX_AUTH_LEVEL, MAX_USER_ID } from '../core/arguments.js';
import { MAX_ACCESS_TOKEN_LENGTH } from '../core/token.js';
import { SERVICE_ERROR_CODES } from './errors.js';

type Schema = Record<string, unknown>;

/** JSON Schemas of the API's objects; also the OpenAPI `components.schemas`. */
export const SCHEMAS: Record<string, Schema> = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: {
            type: 'string',
            enum: [...SERVICE_ERROR_CODES],
            description: 'Stable machine-readable code, kebab-case (RFC 6749 spells `invalid_grant`): `bad-request`, `unauthorized`, `session-invalid`, `throttled`, `store-unavailable`...',
          },
          message: { type: 'string', description: 'For people; never holds a token or a key.' },
          reason: { type: 'string', description: 'Why a token was refused (`session-invalid`, `invalid_grant`): `expired-idle`, `revoked`, `reused`...' },
        },
      },
    },
  },
  Device: {
    type: 'object',
    required: ['browser', 'os', 'type'],
    properties: { browser: { type: 'string' }, os: { type: 'string' }, type: { type: 'string', enum: ['desktop', 'mobile', 'tablet', 'bot', 'unknown'] } },
  },
  ClientRecord: {
    type: ['object', 'null'],
    required: ['ip', 'userAgent', 'device'],
    properties: { ip: { type: ['string', 'null'] }, userAgent: { type: ['string', 'null'] }, device: { $ref: '#/components/schemas/Device' } },
  },
  Session: {
    type: 'object',
    description: 'A valid session. Timestamps are milliseconds since the Unix epoch.',
    required: ['handle', 'kind', 'userId', 'createdAt', 'issuedAt', 'lastSeenAt', 'authTime', 'authLevel', 'idleExpiresAt', 'absoluteExpiresAt', 'version', 'data', 'client'],
    properties: {
      handle: { type: 'string', description: 'Public id of the session: safe to log and show.' },
      kind: { type: 'string', description: 'The kind of session: `session` for those of `/v1/sessions`.' },
      userId: { type: ['string', 'null'] },
      createdAt: { type: 'integer' },
      issuedAt: { type: 'integer' },
      lastSeenAt: { type: 'integer' },
      authTime: { type: ['integer', 'null'] },
      authLevel: { type: 'integer' },
      idleExpiresAt: { type: 'integer' },
      absoluteExpiresAt: { type: 'integer' },
      version: { type: 'integer' },
      data: { type: 'object', additionalProperties: true },
      client: { $ref: '#/components/schemas/ClientRecord' },
    },
  },
  DeviceSession: {
    type: 'object',
    required: ['handle', 'kind', 'createdAt', 'lastSeenAt', 'authTime', 'expiresAt', 'ip', 'userAgent', 'device', 'deviceBound'],
    properties: {
      handle: { type: 'string' },
      kind: { type: 'string', enum: ['session', 'refresh'], description: '`session`: a session of `/v1/sessions`; `refresh`: a token family of `/v1/tokens`.' },
      createdAt: { type: 'integer' },
      lastSeenAt: { type: 'integer' },
      authTime: { type: ['integer', 'null'] },
      expiresAt: { type: 'integer' },
      ip: { type: ['string', 'null'] },
      userAgent: { type: ['string', 'null'] },
      device: { $ref: '#/components/schemas/Device' },
      deviceBound: {
        type: 'boolean',
        description: 'Whether the session is device-bound: its browser registered a key (DBSC), so its cookie alone signs no one in.',
      },
    },
  },
  TokenPair: {
    type: 'object',
    required: ['accessToken', 'refreshToken', 'tokenType', 'expiresIn'],
    properties: {
      accessToken: { type: 'string', description: 'A JWT; verify it with the keys at /.well-known/jwks.json.' },
      refreshToken: { type: 'string' },
      tokenType: { type: 'string', enum: ['Bearer', 'DPoP'], description: '`DPoP` when the pair is bound to the key of the DPoP proof sent with the request (the access token carries `cnf.jkt`).' },
      expiresIn: { type: 'integer', description: 'Access-token lifetime in seconds.' },
    },
  },
  Introspection: {
    description:
      'RFC 7662-style: whether the access token is active (signature, issuer, audience and times check out, and its session has not ended), and if so its claims. An inactive token gets `{ "active": false }` and nothing else.',
    oneOf: [
      { type: 'object', additionalProperties: false, required: ['active'], properties: { active: { const: false } } },
      {
        type: 'object',
        additionalProperties: false,
        required: ['active', 'token_type', 'sub', 'sid', 'iss', 'aud', 'iat', 'exp'],
        properties: {
          active: { const: true },
          token_type: { enum: ['Bearer', 'DPoP'], description: '`DPoP` for a token bound to a key, which is active only when introspected with a valid `dpop` proof of that key.' },
          cnf: {
            type: 'object',
            additionalProperties: false,
            required: ['jkt'],
            properties: { jkt: { type: 'string', description: 'RFC 7638 thumbprint of the key the token is bound to (RFC 9449).' } },
          },
          sub: { type: 'string', description: 'The user.' },
          sid: { type: 'string', description: 'The session (token family) the token was issued for: a handle for `DELETE /v1/sessions/{handle}`.' },
          iss: { type: 'string' },
          aud: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          iat: { type: 'integer', description: 'Issued at, seconds since the Unix epoch.' },
          nbf: { type: 'integer' },
          exp: { type: 'integer', description: 'Expires at, seconds since the Unix epoch.' },
          scope: { type: 'string', description: 'Space-separated scopes.' },
          auth_time: { type: 'integer', description: 'When the user last authenticated, seconds since the Unix epoch.' },
        },
      },
    ],
  },
};

const userId: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_USER_ID,
  description: 'Your user id: any string of 1 to 256 characters. The service\'s own sessions (dashboard, demo) are records of other kinds, never answered for here.',
};
/** The engine's range (authLevelArg): a level the library takes in this process, the service takes too. */
const authLevel: Schema = { type: 'integer', minimum: 0, maximum: MAX_AUTH_LEVEL, description: 'The strength of the authentication, as your application counts it: a whole number from 0.' };
const handle: Schema = { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$', description: 'A session handle.' };
const token: Schema = { type: 'string', minLength: 1, maxLength: 1024 };
const dpop: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['proof', 'method', 'url'],
  description:
    "DPoP (RFC 9449): the end user's proof as it reached your backend, forwarded. The service checks it against the method and absolute URL of that request (what the proof's `htm` and `htu` name), its age, its `jti` (each proof is accepted once, across every instance) and, at introspection, the hash of the access token (`ath`). A refused proof is a 400 `invalid_dpop_proof` whose `reason` says why.",
  properties: {
    proof: { type: 'string', minLength: 1, maxLength: 8192, description: 'The value of the `DPoP` request header.' },
    method: { type: 'string', minLength: 1, maxLength: 16, description: 'The method of the request the proof came with, e.g. `POST`.' },
    url: { type: 'string', minLength: 1, maxLength: 4096, description: 'The absolute URL the client addressed, e.g. `https://app.example.com/auth/login` (query ignored).' },
  },
};
const client: Schema = {
  type: 'object',
  additionalProperties: false,
  description: 'The end user\'s client, for the device list, binding and guessing throttles.',
  properties: { ip: { type: 'string', maxLength: 64 }, userAgent: { type: 'string', maxLength: 1024 } },
};
const data: Schema = {
  type: 'object',
  additionalProperties: true,
  description: 'JSON session data.',
};
const obj = (required: string[], properties: Record<string, Schema>): Schema => ({ type: 'object', additionalProperties: false, required, properties });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** The operations of the `/v1` API: each has exactly one route and one handler. */
export type OperationId =
  | 'createSession'
  | 'validateSession'
  | 'rotateSession'
  | 'patchSessionData'
  | 'revokeSession'
  | 'listUserSessions'
  | 'revokeUserSessions'
  | 'issueTokens'
  | 'refreshTokens'
  | 'revokeRefreshToken'
  | 'introspectToken'
  | 'listSecurityEvents';

/** One route of the API: what Fastify serves and what the OpenAPI document says. */
export interface RouteSpec<Id extends string = string> {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Fastify path (`:param`). */
  readonly url: string;
  readonly operationId: Id;
  readonly summary: string;
  readonly tag: 'sessions' | 'tokens' | 'service';
  /** Behind an API key. */
  readonly auth: boolean;
  readonly body?: Schema;
  readonly params?: Schema;
  readonly querystring?: Schema;
  /** status → schema (or `null` for no body); the content type, when not JSON. */
  readonly responses: Readonly<Record<number, { readonly description: string; readonly schema: Schema | null; readonly contentType?: string }>>;
}

const NULLABLE = { type: ['string', 'null'] } as const;
const E = (description: string) => ({ description, schema: ref('Error') });
const COMMON = {
  400: E('`bad-request`: the body or a parameter does not match the schema.'),
  401: E('`unauthorized`: missing or invalid API key.'),
  413: E('`payload-too-large`: body too large.'),
  415: E('`unsupported-media-type`: body is not JSON.'),
  503: E('`store-unavailable`: the store is unavailable; wait `Retry-After` seconds.'),
};

/** Every `/v1` route. */
export const API_ROUTES: ReadonlyArray<RouteSpec<OperationId>> = [
  {
    method: 'POST',
    url: '/v1/sessions',
    operationId: 'createSession',
    summary:
      'Create a session: a sign-in with `userId`, or without it an anonymous session (signed in later through `/v1/sessions/rotate` with `userId`). The token is returned once: hand it to the client (cookie) and keep no copy.',
    tag: 'sessions',
    auth: true,
    body: obj([], { userId, data, client, authLevel }),
    responses: { 201: { description: 'Created.', schema: obj(['token', 'session'], { token: { type: 'string' }, session: ref('Session') }) }, ...COMMON },
  },
  {
    method: 'POST',
    url: '/v1/sessions/validate',
    operationId: 'validateSession',
    summary: 'Validate a token. Answers 200 either way; `valid: false` says why.',
    tag: 'sessions',
    auth: true,
    body: obj(['token'], { token, client }),
    responses: {
      200: {
        description: 'The verdict.',
        schema: {
          oneOf: [
            obj(['valid', 'session'], { valid: { const: true }, session: ref('Session') }),
            obj(['valid', 'reason'], { valid: { const: false }, reason: { type: 'string', enum: ['malformed', 'unknown', 'expired-idle', 'expired-absolute', 'revoked', 'binding-mismatch'] } }),
          ],
        },
      },
      ...COMMON,
      429: E('`throttled`: `client.ip` sent a burst of invalid tokens; wait `Retry-After` seconds.'),
    },
  },
  {
    method: 'POST',
    url: '/v1/sessions/rotate',
    operationId: 'rotateSession',
    summary: 'Issue a new token for the session and kill the old one (after sign-in, privilege change or re-authentication).',
    tag: 'sessions',
    auth: true,
    body: obj(['token'], {
      token,
      client,
      userId: { ...userId, description: 'Sign in (or switch) to this user.' },
      authenticated: { type: 'boolean', description: 'Record a re-authentication now (makes the session fresh).' },
      authLevel,
    }),
    responses: {
      200: { description: 'The new token.', schema: obj(['token', 'session'], { token: { type: 'string' }, session: ref('Session') }) },
      ...COMMON,
      401: E('`session-invalid` (with `reason`), or a bad API key (`unauthorized`).'),
      409: E('`conflict`: the session changed during the call (a concurrent rotation or revocation won).'),
      429: E('`throttled`: `client.ip` sent a burst of invalid tokens; wait `Retry-After` seconds.'),
    },
  },
  {
    method: 'PATCH',
    url: '/v1/sessions/:handle/data',
    operationId: 'patchSessionData',
    summary: 'Set and remove data keys; other keys are left as they are.',
    tag: 'sessions',
    auth: true,
    params: obj(['handle'], { handle }),
    body: obj([], { set: data, unset: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 256 }, description: 'Keys to remove; as many as the engine takes (the body limit bounds them).' } }),
    responses: { 200: { description: 'The session after the change.', schema: obj(['session'], { session: ref('Session') }) }, ...COMMON, 404: E('No active session with this handle.') },
  },
  {
    method: 'DELETE',
    url: '/v1/sessions/:handle',
    operationId: 'revokeSession',
    summary:
      "Revoke one session (sign-out): a session of `/v1/sessions`, or a token family by any handle it had (such as an access token's `sid`), which also ends the family's access tokens.",
    tag: 'sessions',
    auth: true,
    params: obj(['handle'], { handle }),
    responses: { 204: { description: 'Revoked.', schema: null }, 400: COMMON[400], 401: COMMON[401], 404: E('No active session or token family with this handle.'), 503: COMMON[503] },
  },
  {
    method: 'GET',
    url: '/v1/users/:userId/sessions',
    operationId: 'listUserSessions',
    summary: "A user's live sessions, oldest first (a \"your devices\" page).",
    tag: 'sessions',
    auth: true,
    params: obj(['userId'], { userId }),
    responses: { 200: { description: 'The sessions.', schema: obj(['sessions'], { sessions: { type: 'array', items: ref('DeviceSession') } }) }, 400: COMMON[400], 401: COMMON[401], 503: COMMON[503] },
  },
  {
    method: 'DELETE',
    url: '/v1/users/:userId/sessions',
    operationId: 'revokeUserSessions',
    summary: 'Log a user out everywhere, optionally but one session: every session and token family of the user, and the families\' access tokens.',
    tag: 'sessions',
    auth: true,
    params: obj(['userId'], { userId }),
    querystring: obj([], { except: handle }),
    responses: { 200: { description: 'The handles revoked.', schema: obj(['revoked'], { revoked: { type: 'array', items: { type: 'string' } } }) }, 400: COMMON[400], 401: COMMON[401], 503: COMMON[503] },
  },
  {
    method: 'POST',
    url: '/v1/tokens',
    operationId: 'issueTokens',
    summary: 'Token mode: sign in, answering an access JWT and a rotating refresh token; with `dpop`, both bound to the key of the proof (`tokenType: DPoP`) for the family\'s whole life.',
    tag: 'tokens',
    auth: true,
    body: obj(['userId'], { userId, scope: { type: 'string', maxLength: 1024, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+( [\\x21\\x23-\\x5B\\x5D-\\x7E]+)*$' }, data, client, dpop }),
    responses: {
      201: { description: 'The token pair.', schema: ref('TokenPair') },
      ...COMMON,
      400: E('`bad-request`, or `invalid_dpop_proof` (with `reason`): the forwarded DPoP proof was refused; nothing was issued.'),
    },
  },
  {
    method: 'POST',
    url: '/v1/tokens/refresh',
    operationId: 'refreshTokens',
    summary:
      'Token mode: rotate the refresh token and issue a new access token. A rotated token presented again revokes its family (theft); so does a family bound to a DPoP key refreshed without `dpop`, or with a proof of another key (`reason: wrong-key`).',
    tag: 'tokens',
    auth: true,
    body: obj(['refreshToken'], { refreshToken: token, client, dpop }),
    responses: {
      200: { description: 'The new pair.', schema: ref('TokenPair') },
      ...COMMON,
      400: E('`bad-request`, or `invalid_dpop_proof` (with `reason`): the forwarded DPoP proof was refused; nothing was refreshed.'),
      401: E('`invalid_grant` (with `reason`), or a bad API key.'),
      429: E('`throttled`: `client.ip` sent a burst of invalid refresh tokens; wait `Retry-After` seconds.'),
    },
  },
  {
    method: 'POST',
    url: '/v1/tokens/revoke',
    operationId: 'revokeRefreshToken',
    summary: 'Token mode: sign out, revoking the refresh token\'s family and the family\'s access tokens.',
    tag: 'tokens',
    auth: true,
    body: obj(['refreshToken'], { refreshToken: token }),
    responses: { 200: { description: 'Whether a live family was revoked.', schema: obj(['revoked'], { revoked: { type: 'boolean' } }) }, ...COMMON },
  },
  {
    method: 'POST',
    url: '/v1/tokens/introspect',
    operationId: 'introspectToken',
    summary:
      'Token mode, RFC 7662-style introspection for backends that verify no JWT themselves: whether an access token is active, and its claims. A token whose session ended (sign-out, revocation, log out everywhere, theft) is inactive at once on the instance that ended it, and on other instances once the store announces it (at most the revocation staleness bound).',
    tag: 'tokens',
    auth: true,
    body: obj(['token'], {
      token: { type: 'string', minLength: 1, maxLength: MAX_ACCESS_TOKEN_LENGTH, description: 'The access token.' },
      token_type_hint: { type: 'string', maxLength: 64, description: 'Accepted as in RFC 7662 and ignored: only access tokens are introspected.' },
      dpop,
    }),
    responses: {
      200: { description: 'The verdict.', schema: ref('Introspection') },
      ...COMMON,
      400: E('`bad-request`, or `invalid_dpop_proof` (with `reason`): the forwarded DPoP proof was refused.'),
    },
  },
  {
    method: 'GET',
    url: '/v1/events',
    operationId: 'listSecurityEvents',
    summary:
      "The security-event feed, newest first: refresh-token theft, binding mismatches, bursts of invalid tokens, new devices, sessions and API keys revoked by an operator, \"log out everywhere\". On a Redis or PostgreSQL store, the events of every instance and of the CLI; otherwise this instance's. Handles, user ids and IPs, never tokens.",
    tag: 'service',
    auth: true,
    querystring: obj([], { limit: { type: 'string', pattern: '^(?:[1-9][0-9]?|1[0-9][0-9]|200)$', description: 'How many events at most, 1 to 200 (default 50).' } }),
    responses: {
      200: {
        description: 'The events.',
        schema: obj(['events'], {
          events: {
            type: 'array',
            items: obj(['id', 'at', 'kind', 'userId', 'sessionKind', 'handle', 'ip', 'detail'], {
              id: { type: 'integer', description: 'Increasing: within the store\'s shared log, or this instance.' },
              at: { type: 'integer', description: 'ms since epoch' },
              kind: { type: 'string' },
              userId: NULLABLE,
              sessionKind: NULLABLE,
              handle: NULLABLE,
              ip: NULLABLE,
              detail: { type: 'string' },
            }),
          },
        }),
      },
      400: COMMON[400],
      401: COMMON[401],
      503: COMMON[503],
    },
  },
];
