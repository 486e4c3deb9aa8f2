/**
 * Prometheus metrics of the configuration store and its change-set queue (behaviour §13:
 * queue depth, apply latency, change volume).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ConfigStore } from '../../config/config-store.js';
import type { ConfigBackend } from '../../config/config-writer.js';
import type { ChangeSetQueue } from './change-set-queue.js';

/** Registers the config metrics on `registry` and feeds them from `store` and `queue`. Returns the detach function. */
export function registerConfigMetrics(registry: Registry, store: ConfigStore, queue: ChangeSetQueue): () => void {
  const changeSets = new Counter({
    name: 'sipserver_config_change_sets_total',
    help: 'Configuration change-sets applied',
    registers: [registry],
  });
  const changes = new Counter({
    name: 'sipserver_config_changes_total',
    help: 'Configuration changes applied, by object kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'sipserver_config_change_sets_rejected_total',
    help: 'Configuration change-sets refused by validation',
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'sipserver_config_change_set_apply_seconds',
    help: 'Time to validate, store and deliver a change-set',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'sipserver_config_version',
    help: 'Version of the last committed configuration change-set',
    registers: [registry],
    collect() {
      this.set(store.version);
    },
  });
  new Gauge({
    name: 'sipserver_config_dns',
    help: 'Configured DNs',
    registers: [registry],
    collect() {
      this.set(store.dnCount);
    },
  });
  new Gauge({
    name: 'sipserver_config_queue_depth',
    help: 'Change-sets accepted by the admin API and not applied yet',
    registers: [registry],
    collect() {
      this.set(queue.depth);
    },
  });
  const queueWait = new Histogram({
    name: 'sipserver_config_queue_wait_seconds',
    help: 'Time a change-set waited in the queue (its turn, the lag gate) before it was applied',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const queueFull = new Counter({
    name: 'sipserver_config_queue_full_total',
    help: 'Change-sets refused with 503 because the configuration queue was full',
    registers: [registry],
  });
  const detachQueue = queue.observe({
    onRun(waitSeconds) {
      queueWait.observe(waitSeconds);
    },
    onFull() {
      queueFull.inc();
    },
  });
  const detachStore = store.observe({
    onApplied(cs, seconds) {
      changeSets.inc();
      const byKind = new Map<string, number>();
      for (const c of cs.changes) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
      for (const [kind, n] of byKind) changes.inc({ kind }, n);
      latency.observe(seconds);
    },
    onRejected() {
      rejected.inc();
    },
  });
  return () => {
    detachQueue();
    detachStore();
  };
}

/** The configuration store's reachability and catch-up lag (docs/cluster.md). */
export function registerStoreMetrics(metrics: Registry, backend: ConfigBackend): void {
  new Gauge({
    name: 'sipserver_config_store_connected',
    help: 'Whether the configuration store of record answers (1; always 1 for the embedded store)',
    registers: [metrics],
    collect() {
      this.set(backend.status().connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sipserver_config_store_lag_versions',
    help: 'Change-sets in the store of record not yet applied to the local cache (as last seen)',
    registers: [metrics],
    collect() {
      this.set(backend.status().lagVersions);
    },
  });
}
