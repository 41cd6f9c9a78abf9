/**
 * A small node:http API that uses latchkey's DPoP core the way token mode
 * will once it is wired in: `POST /token` checks a proof (no `ath`) and
 * issues an access token bound to its key (`cnf.jkt`, `token_type: DPoP`),
 * or an unbound bearer token without a proof; `GET /resource` accepts a
 * bound token only with the `DPoP` scheme and a proof of that key, and an
 * unbound one only as a bearer token. Refusals are the core's answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Clock } from '../../src/core/clock.js';
import { createAccessTokens, type AccessTokens } from '../../src/tokens/access.js';
import { checkDpopBinding, dpopAnswer, type DpopAnswer } from '../../src/tokens/dpop-answers.js';
import { createDpopVerifier, type DpopVerifier, type DpopVerifierOptions } from '../../src/tokens/dpop.js';
import { memoryReplayCache } from '../../src/tokens/dpop-replay.js';
import { createKeySet } from '../../src/tokens/keys.js';

export interface DpopApi {
  readonly base: string;
  readonly verifier: DpopVerifier;
  readonly access: AccessTokens;
  /** Every refusal the API answered, with its reason. */
  readonly refusals: Array<{ path: string; reason: string }>;
  close(): Promise<void>;
}

function answer(res: ServerResponse, a: DpopAnswer): void {
  res.writeHead(a.status, a.body === null ? a.headers : { ...a.headers, 'content-type': 'application/json' });
  res.end(a.body === null ? undefined : JSON.stringify(a.body));
}

/**
 * Starts the API on 127.0.0.1. `verifier` options are merged over a memory
 * replay cache; pass `replayCache` to share one between two instances.
 */
export async function startDpopApi(o: { verifier?: Partial<DpopVerifierOptions>; clock?: Clock; access?: AccessTokens } = {}): Promise<DpopApi> {
  const clock = o.clock;
  const verifier = createDpopVerifier({ replayCache: memoryReplayCache(clock === undefined ? {} : { clock }), ...(clock === undefined ? {} : { clock }), ...o.verifier });
  const access =
    o.access ??
    createAccessTokens({ keys: await createKeySet(clock === undefined ? {} : { clock }), issuer: 'https://auth.example.test', audience: 'api', ...(clock === undefined ? {} : { clock }) });
  const refusals: DpopApi['refusals'] = [];
  let base = '';

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const url = `${base}${req.url ?? '/'}`;
    const proofHeader = req.headersDistinct.dpop;
    if (path === '/token' && req.method === 'POST') {
      if (proofHeader === undefined) {
        const token = await access.sign({ subject: 'alice', sessionId: 'family-1' });
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        return res.end(JSON.stringify({ access_token: token, token_type: 'Bearer' }));
      }
      const proof = await verifier.verify({ proof: proofHeader, method: req.method, url });
      if (!proof.ok) {
        refusals.push({ path, reason: proof.reason });
        return answer(res, dpopAnswer(proof, { at: 'token-endpoint', algs: verifier.algorithms }));
      }
      const token = await access.sign({ subject: 'alice', sessionId: 'family-1', jkt: proof.jkt });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
      if (proof.nonce !== null) headers['dpop-nonce'] = proof.nonce;
      res.writeHead(200, headers);
      return res.end(JSON.stringify({ access_token: token, token_type: 'DPoP' }));
    }
    if (path === '/resource') {
      const authorization = req.headers.authorization ?? '';
      const match = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization);
      if (match === null) {
        res.writeHead(401, { 'www-authenticate': `DPoP algs="${verifier.algorithms.join(' ')}"` });
        return res.end();
      }
      const scheme = match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
      const token = match[2]!;
      const verified = await access.verify(token);
      if (!verified.ok) {
        refusals.push({ path, reason: `token:${verified.reason}` });
        res.writeHead(401, { 'www-authenticate': `DPoP error="invalid_token", algs="${verifier.algorithms.join(' ')}"` });
        return res.end();
      }
      let proof = null;
      if (scheme === 'DPoP') {
        const result = await verifier.verify({ proof: proofHeader, method: req.method ?? 'GET', url, accessToken: token });
        if (!result.ok) {
          refusals.push({ path, reason: result.reason });
          return answer(res, dpopAnswer(result, { at: 'resource', algs: verifier.algorithms }));
        }
        proof = result;
      }
      const binding = checkDpopBinding(verified.claims, { scheme, proof });
      if (!binding.ok) {
        refusals.push({ path, reason: binding.reason });
        return answer(res, dpopAnswer({ ...binding, nonce: verifier.nonce() }, { at: 'resource', algs: verifier.algorithms }));
      }
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (proof?.nonce) headers['dpop-nonce'] = proof.nonce;
      res.writeHead(200, headers);
      return res.end(JSON.stringify({ sub: verified.claims.sub, bound: binding.bound }));
    }
    res.writeHead(404).end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error(err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return {
    base,
    verifier,
    access,
    refusals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
