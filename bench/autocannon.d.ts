// The small part of autocannon's programmatic API bench/run.ts uses (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface Options {
    url: string;
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    /** Responses whose body differs count as `mismatches`. */
    expectBody?: string;
    /** Seconds. */
    timeout?: number;
    headers?: Record<string, string>;
  }

  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
  }

  export interface Result {
    requests: Histogram;
    /** Milliseconds, recorded with 1 ms resolution. */
    latency: Histogram;
    throughput: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    resets: number;
  }

  /** Emits 'response' (client, statusCode, bytes, responseTimeMs) per response; awaitable for the result. */
  export interface Instance extends EventEmitter, PromiseLike<Result> {}

  export default function autocannon(opts: Options): Instance;
}
