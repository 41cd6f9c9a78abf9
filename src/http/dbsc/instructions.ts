/**
 * DBSC session instructions: the JSON a registration or refresh answer
 * carries (the draft's §format-session-instructions), and the termination
 * `{"session_identifier": id, "continue": false}`.
 *
 * Written to pass Chrome's stricter checks too: `scope.include_site` always
 * present, `scope.origin` without a path (not even `/`), credential
 * attributes limited to Domain, Path, Secure, HttpOnly and SameSite and
 * equal to the `Set-Cookie` ones, and a session identifier even when
 * terminating (without it Chrome reports no server termination).
 *
 * @module
 * @internal
 */

/** What the instructions say, from the normalised options. */
export interface InstructionsConfig {
  readonly refreshPath: string;
  /** `scope.origin`, or `null` to leave it out. */
  readonly origin: string | null;
  readonly includeSite: boolean;
  readonly exclude: readonly string[];
  readonly cookieName: string;
  readonly attributes: string;
}

/** The session instructions JSON of the session `id`. */
export function sessionInstructions(id: string, c: InstructionsConfig): string {
  const scope: Record<string, unknown> = {};
  if (c.origin !== null) scope.origin = c.origin;
  scope.include_site = c.includeSite;
  if (c.exclude.length > 0) scope.scope_specification = c.exclude.map((path) => ({ type: 'exclude', path }));
  return JSON.stringify({
    session_identifier: id,
    refresh_url: c.refreshPath,
    scope,
    credentials: [{ type: 'cookie', name: c.cookieName, attributes: c.attributes }],
  });
}

/** The JSON that ends the session `id` in the browser. */
export function terminationInstructions(id: string): string {
  return JSON.stringify({ session_identifier: id, continue: false });
}
