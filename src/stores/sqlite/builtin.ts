/**
 * A runtime's builtin module by name, synchronously, or null where the
 * runtime has none (or hides it behind a flag, as Node 22.5–22.12 does with
 * `node:sqlite`).
 *
 * @module
 * @internal
 */
import { createRequire } from 'node:module';

/** @internal */
export function builtin(id: string): Record<string, unknown> | null {
  try {
    const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
    return ((getBuiltin?.(id) ?? createRequire(import.meta.url)(id)) as Record<string, unknown> | undefined) ?? null;
  } catch {
    return null;
  }
}
