// Retry delays for pushes: exponential from one second, capped at 30 s, with ±20 % jitter so
// that several replicas or writers do not hammer a recovering remote in step.
export function backoffDelay(failures: number, baseMs = 1000, capMs = 30_000): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(Math.min(capMs, exp * (0.8 + Math.random() * 0.4)));
}
