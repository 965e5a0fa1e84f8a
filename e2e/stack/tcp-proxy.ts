// A round-robin TCP proxy on 127.0.0.1 (or --host: the node's bridge), standing in for the kubescribe Service in front of several
// replicas: each new connection goes to the next backend; a backend that refuses is skipped.
// TLS passes through untouched. Runnable: `tsx e2e/stack/tcp-proxy.ts --port N --backends 127.0.0.1:A,127.0.0.1:B`.
// Also a fault proxy (startFaultProxy) to put between kubescribe and the API server or its Git
// remote: black hole (stop forwarding without closing), stall only the connections open now
// (half-open watches), slow (delay every chunk), reset (RST every connection).
import { connect, createServer, type Server, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

export type FaultMode = 'pass' | 'blackhole' | 'slow';

export interface FaultProxy {
  port: number;
  /** pass: forward; blackhole: accept and keep every connection, forward nothing; slow: delay each chunk. */
  set(mode: FaultMode, opts?: { delayMs?: number }): void;
  mode(): FaultMode;
  /** Stops forwarding on the connections open now (they stay open, silent); new ones pass. */
  stallExisting(): number;
  /** Resets (RST) every open connection. */
  resetAll(): number;
  /** Connections open now. */
  open(): number;
  close(): Promise<void>;
}

/**
 * One backend behind a proxy whose faults the test switches. `sniff` sees every chunk a client
 * sends (e.g. to log the Git requests a replica makes) with the time it arrived and whether it was
 * forwarded.
 */
export function startFaultProxy(backend: { host: string; port: number }, opts: { sniff?: (chunk: Buffer, forwarded: boolean) => void } = {}): Promise<FaultProxy> {
  let mode: FaultMode = 'pass';
  let delayMs = 0;
  const conns = new Set<{ client: Socket; upstream: Socket; stalled: boolean }>();
  const forward = (c: { stalled: boolean }, to: Socket, chunk: Buffer): void => {
    if (c.stalled || mode === 'blackhole') return; // dropped: the sender sees its bytes acknowledged, nothing comes back
    if (mode === 'slow' && delayMs > 0) setTimeout(() => { if (!to.destroyed) to.write(chunk); }, delayMs);
    else to.write(chunk);
  };
  const server = createServer((client: Socket) => {
    const upstream = connect(backend.port, backend.host);
    const c = { client, upstream, stalled: false };
    conns.add(c);
    client.on('data', (chunk: Buffer) => {
      const passes = !c.stalled && mode !== 'blackhole';
      opts.sniff?.(chunk, passes);
      forward(c, upstream, chunk);
    });
    upstream.on('data', (chunk: Buffer) => forward(c, client, chunk));
    const end = (): void => {
      conns.delete(c);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({
      port: (server.address() as { port: number }).port,
      set(m, o) { mode = m; delayMs = o?.delayMs ?? delayMs; },
      mode: () => mode,
      stallExisting() { for (const c of conns) c.stalled = true; return conns.size; },
      resetAll() {
        const n = conns.size;
        for (const c of [...conns]) { c.client.resetAndDestroy(); c.upstream.destroy(); }
        return n;
      },
      open: () => conns.size,
      close: () => new Promise<void>((r) => {
        for (const c of [...conns]) { c.client.destroy(); c.upstream.destroy(); }
        server.close(() => r());
      }),
    }));
  });
}

export function startTcpProxy(port: number, backends: Array<{ host: string; port: number }>, host = '127.0.0.1'): Promise<Server> {
  let next = 0;
  const server = createServer((client: Socket) => {
    client.pause();
    const tryBackend = (attempt: number): void => {
      if (attempt >= backends.length) { client.destroy(); return; }
      const b = backends[next++ % backends.length]!;
      const upstream = connect(b.port, b.host);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        upstream.pipe(client);
        client.pipe(upstream);
        client.once('error', () => upstream.destroy());
        client.once('close', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
        client.resume();
      });
      upstream.on('error', () => {
        if (!connected) tryBackend(attempt + 1); // refused: the next backend
        else client.destroy();
      });
    };
    tryBackend(0);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { host: { type: 'string' }, port: { type: 'string' }, backends: { type: 'string' } } });
  const backends = (values.backends ?? '').split(',').filter(Boolean).map((b) => {
    const [host = '127.0.0.1', p = '0'] = b.split(':');
    return { host, port: Number(p) };
  });
  const server = await startTcpProxy(Number(values.port), backends, values.host);
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
