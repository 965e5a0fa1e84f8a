// The part of autocannon's API the benchmarks use (the package ships no types).
declare module 'autocannon' {
  interface Histogram { average: number; mean: number; stddev: number; min: number; max: number; total: number; p50: number; p90: number; p99: number; p99_9: number }
  export interface Result {
    requests: Histogram;
    latency: Histogram;
    throughput: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    start: Date;
    finish: Date;
  }
  export interface Options {
    url: string;
    method?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    connections?: number;
    pipelining?: number;
    duration?: number;
    amount?: number;
    overallRate?: number;
    idReplacement?: boolean;
    requests?: Array<{ setupRequest?: (req: { body?: string | Buffer }, context: Record<string, unknown>) => { body?: string | Buffer } }>;
    workers?: number;
    timeout?: number;
  }
  export default function autocannon(opts: Options, cb: (err: Error | null, result: Result) => void): { stop(): void };
}
