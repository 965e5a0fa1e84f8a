// Preloaded into a kubescribe process by the stack benchmarks (NODE_OPTIONS=--import; plain
// JavaScript, since kubescribe runs from dist/ without tsx). Two probes, each on when its
// environment variable names a folder:
//   KS_CPU_PROF_DIR    profile the main thread from start to the stop signal (or exit) and write a
//                      .cpuprofile there, for bench/profile-summary.ts or Chrome DevTools
//                      (NODE_OPTIONS does not allow --cpu-prof itself);
//   KS_HEAP_PROBE_DIR  on SIGUSR2, run a full garbage collection and write heap-<pid>.json with
//                      process.memoryUsage() and VmRSS/VmHWM after it: what the process retains,
//                      as opposed to what V8 happens not to have collected yet; with
//                      KS_HEAP_SNAPSHOT=1 also heap-<pid>.heapsnapshot (bench/heap-summary.ts);
//   KS_MEM_TRACE_DIR   every 100 ms, append process.memoryUsage() with VmRSS and VmHWM to
//                      mem-<pid>.jsonl there: what a peak is made of (V8 heap, Buffers, the rest).
// The in-thread inspector session answers synchronously, so even an 'exit' handler can use it.
// Preloads also run in worker threads (the webhook's thread): there the files get a -thread<id>
// suffix (the memory trace then holds that thread's V8 heap), and the heap probe (a signal) is off.
/* global process, setInterval */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';

const suffix = isMainThread ? '' : `-thread${threadId}`;

const cpuDir = process.env.KS_CPU_PROF_DIR;
const heapDir = process.env.KS_HEAP_PROBE_DIR;
let session;
const inspector = () => {
  if (!session) {
    session = new Session();
    session.connect();
  }
  return session;
};

if (cpuDir) {
  const s = inspector();
  s.post('Profiler.enable');
  s.post('Profiler.setSamplingInterval', { interval: 1000 });
  s.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    s.post('Profiler.stop', (err, res) => {
      if (err) return;
      mkdirSync(cpuDir, { recursive: true });
      writeFileSync(join(cpuDir, `kubescribe-${process.pid}${suffix}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  // At the stop signal (the run is over; a slow shutdown could end in SIGKILL), or at exit.
  if (isMainThread) process.prependListener('SIGTERM', write);
  process.on('exit', write);
}

const traceDir = process.env.KS_MEM_TRACE_DIR;
if (traceDir) {
  mkdirSync(traceDir, { recursive: true });
  const file = join(traceDir, `mem-${process.pid}${suffix}.jsonl`);
  const timer = setInterval(() => {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), ...process.memoryUsage(), vmRss: kb('VmRSS'), vmHwm: kb('VmHWM') })}\n`);
  }, 100);
  timer.unref();
}

if (heapDir && isMainThread) {
  process.on('SIGUSR2', () => {
    inspector().post('HeapProfiler.collectGarbage', () => {
      const status = readFileSync('/proc/self/status', 'utf8');
      const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) * 1024;
      mkdirSync(heapDir, { recursive: true });
      if (process.env.KS_HEAP_SNAPSHOT === '1') {
        const chunks = [];
        const onChunk = (m) => chunks.push(m.params.chunk);
        inspector().on('HeapProfiler.addHeapSnapshotChunk', onChunk);
        inspector().post('HeapProfiler.takeHeapSnapshot', null, () => {
          inspector().off('HeapProfiler.addHeapSnapshotChunk', onChunk);
          writeFileSync(join(heapDir, `heap-${process.pid}.heapsnapshot`), chunks.join(''));
        });
      }
      writeFileSync(join(heapDir, `heap-${process.pid}.json`), JSON.stringify({ ...process.memoryUsage(), vmRss: kb('VmRSS'), vmHwm: kb('VmHWM'), at: Date.now() }));
    });
  });
}
