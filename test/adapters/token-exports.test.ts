import { describe, expect, it } from 'vitest';
import * as express from '../../src/adapters/express.js';
import * as fastify from '../../src/adapters/fastify.js';
import * as fetch from '../../src/adapters/fetch.js';
import * as hono from '../../src/adapters/hono.js';
import * as node from '../../src/adapters/node.js';
import * as koa from '../../src/adapters/koa.js';
import * as nest from '../../src/adapters/nest/index.js';

const ADAPTERS = { express, fastify, fetch, hono, node, koa, nest } as const;
const TOKEN_MODE = ['tokenGuard', 'tokenRefresh', 'tokenLogout', 'sendTokens', 'issueTokens'] as const;

describe("token mode's exports", () => {
  it.each(Object.entries(ADAPTERS))('are named the same in the %s adapter', (_name, adapter) => {
    for (const name of TOKEN_MODE) expect(typeof (adapter as Record<string, unknown>)[name], name).toBe('function');
  });

  it('keep the former name of the Fetch runtimes’ sign-in answer as an alias of sendTokens', () => {
    expect(hono.tokenResponse).toBe(hono.sendTokens);
    expect(fetch.tokenResponse).toBe(fetch.sendTokens);
  });
});
