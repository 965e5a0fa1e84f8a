// How the CLI prints: times in ISO UTC, short commit ids, aligned columns, unified YAML diffs
// (jsdiff), and ANSI colour that is only ever switched on for a terminal. Commands build plain
// strings and decide nothing about colour themselves: they receive a Palette, which is the
// identity when colour is off, so output for pipes and tests is plain text.

import { FILE_HEADERS_ONLY, OMIT_HEADERS, formatPatch, structuredPatch } from 'diff';
import type { Env } from './context.ts';

type Paint = (text: string) => string;

export interface Palette {
  readonly bold: Paint;
  readonly dim: Paint;
  readonly red: Paint;
  readonly green: Paint;
  readonly yellow: Paint;
  readonly cyan: Paint;
  readonly magenta: Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (text) =>
    text === '' ? text : `\u001b[${open}m${text}\u001b[${close}m`;
const plain: Paint = (text) => text;

export function palette(enabled: boolean): Palette {
  if (!enabled) return { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain, magenta: plain };
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), magenta: sgr(35, 39) };
}

export type ColorMode = 'auto' | 'always' | 'never';

/** `auto`: colour on a terminal unless NO_COLOR is set (https://no-color.org). */
export function colourEnabled(mode: ColorMode, stdoutIsTTY: boolean | undefined, env: Env): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  return stdoutIsTTY === true && !env.NO_COLOR;
}

/** `2025-01-10T09:00:00Z` from seconds since the epoch (Git's timestamps). */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

export function shortOid(oid: string): string {
  return oid.slice(0, 7);
}

export function paintOperation(operation: string, p: Palette): string {
  switch (operation) {
    case 'CREATE':
      return p.green(operation);
    case 'DELETE':
      return p.red(operation);
    case 'UPDATE':
      return p.yellow(operation);
    case 'RECONCILE':
      return p.magenta(operation);
    default:
      return operation;
  }
}

/**
 * Pads every cell but the last of each row to its column's width. Widths are measured on the
 * plain text; `paint` colours a cell after padding so escape codes never skew alignment.
 */
export function formatColumns(rows: readonly (readonly string[])[], paint?: (column: number, padded: string, raw: string) => string): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => {
    const line = row
      .map((cell, i) => {
        const padded = i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
        return paint ? paint(i, padded, cell) : padded;
      })
      .join('  ');
    return row.at(-1) === '' ? line.trimEnd() : line;
  });
}

export interface DiffOptions {
  /** `--- a/path` / `+++ b/path` lines: wanted in JSON (a patch tools can apply), noise on screen. */
  readonly fileHeaders: boolean;
  readonly context?: number;
}

/** A unified diff of one file; `undefined` on a side means the file did not exist there. */
export function unifiedDiff(path: string, before: string | undefined, after: string | undefined, options: DiffOptions): string {
  const patch = structuredPatch(
    before === undefined ? '/dev/null' : `a/${path}`,
    after === undefined ? '/dev/null' : `b/${path}`,
    before ?? '',
    after ?? '',
    undefined,
    undefined,
    { context: options.context ?? 3 },
  );
  return formatPatch(patch, options.fileHeaders ? FILE_HEADERS_ONLY : OMIT_HEADERS);
}

export function paintDiff(diff: string, p: Palette): string {
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return p.bold(line);
      if (line.startsWith('@@')) return p.cyan(line);
      if (line.startsWith('+')) return p.green(line);
      if (line.startsWith('-')) return p.red(line);
      if (line.startsWith('\\')) return p.dim(line);
      return line;
    })
    .join('\n');
}
