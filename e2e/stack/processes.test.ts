import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, lowestSourcePort } from './processes.ts';

describe('freePort', () => {
  it('gives ports a server can listen on, below the range outgoing connections take theirs from', async () => {
    const low = lowestSourcePort();
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(low);
      await new Promise<void>((resolve, reject) => {
        const srv = createServer();
        srv.on('error', reject);
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
      });
    }
  });
});
