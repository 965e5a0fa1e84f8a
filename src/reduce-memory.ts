// A memory-reducing full GC, through the in-process inspector (no port is opened, no flag is
// needed): `HeapProfiler.collectGarbage` collects everything unreachable and shrinks the heap,
// which neither a quiet process nor `gc()` under --expose-gc does (measured on Node 20: after
// 300,000 dropped objects, gc() left a 36 MiB heap and 84 MiB RSS; this, 5 MiB and 52 MiB).
import { Session } from 'node:inspector';

let running: Promise<void> | undefined;

export function reduceMemory(): Promise<void> {
  running ??= new Promise<void>((resolve, reject) => {
    const session = new Session();
    session.connect();
    session.post('HeapProfiler.collectGarbage', (err) => {
      // Disconnecting inside the callback hangs the process (Node 20): leave the callback first.
      setImmediate(() => {
        session.disconnect();
        running = undefined;
        if (err) reject(err);
        else resolve();
      });
    });
  });
  return running;
}
