// kubescribe's log (pino JSON, one object a line; Node's own warnings may sit between them):
// the lines at info or above written after a byte offset. For "steady state logs nothing at
// info" — the e2e test and the benchmark's figure read the log the same way.
import { readFileSync } from 'node:fs';

export function infoLinesAfter(file: string, from: number): string[] {
  return readFileSync(file).subarray(from).toString('utf8').split('\n')
    .filter((l) => { const m = /^\{"level":(\d+)/.exec(l); return m !== null && Number(m[1]) >= 30; });
}
