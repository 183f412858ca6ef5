import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobQueue } from './queue/queue.js';

/** Prometheus metrics, on a registry of this app instance (no global state). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'dhp_http_requests_total', help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const, registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'dhp_http_request_duration_seconds', help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const, buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: 'dhp_tasks_total', help: 'Finished task attempts by type and outcome (done, retry, failed)',
    labelNames: ['type', 'outcome'] as const, registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'dhp_task_duration_seconds', help: 'Task attempt duration by type and outcome',
    labelNames: ['type', 'outcome'] as const, buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800], registers: [this.registry],
  });
  readonly callbacks = new Counter({
    name: 'dhp_callbacks_total', help: 'Callback delivery attempts by outcome (delivered, retry, failed)',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });

  constructor(queue: JobQueue) {
    const depth = new Gauge({
      name: 'dhp_queue_depth', help: 'Jobs waiting or running, by type and state',
      labelNames: ['type', 'state'] as const, registers: [this.registry],
      async collect() {
        depth.reset();
        for (const d of await queue.depth()) depth.set({ type: d.type, state: d.state }, d.count);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'dhp_' });
  }

  jobFinished(type: string, outcome: 'done' | 'retry' | 'failed', seconds: number): void {
    this.jobs.inc({ type, outcome });
    this.jobDuration.observe({ type, outcome }, seconds);
  }

  callbackOutcome(outcome: 'delivered' | 'retry' | 'failed'): void {
    this.callbacks.inc({ outcome });
  }
}
