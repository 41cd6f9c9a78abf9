// Types of scripts/floors.js, for test/lint/floors.test.ts.
import type { Dirent } from 'node:fs';
import type { Rule } from 'eslint';

export interface Floor {
  readonly values: readonly string[];
  readonly types: readonly string[];
  readonly packages: boolean;
  readonly nodeFiles?: readonly string[];
  readonly why: string;
}

export const FLOORS: Readonly<Record<string, Floor>>;
export const floorsRule: Rule.RuleModule;
export function findCycles(srcDir: string, readDir: (dir: string) => Dirent[], readFile: (file: string) => string): string[][];
