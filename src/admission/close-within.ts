import type { FastifyInstance } from 'fastify';

/**
 * Closes a server, waiting at most `ms` for its connections: one that never finishes (a TLS
 * handshake left half-way by a peer in a cluster being torn down) must not keep the pod past its
 * grace period.
 */
export async function closeWithin(app: FastifyInstance, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), ms); });
  const closed = app.close().then(() => 'closed' as const);
  if ((await Promise.race([closed, late])) === 'late') {
    (app.server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    await closed;
  }
  clearTimeout(timer);
}
