// A round-robin TCP proxy on 127.0.0.1 (or --host: the node's bridge), standing in for the kubescribe Service in front of several
// replicas: each new connection goes to the next backend; a backend that refuses is skipped.
// TLS passes through untouched. Runnable: `tsx e2e/stack/tcp-proxy.ts --port N --backends 127.0.0.1:A,127.0.0.1:B`.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

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
