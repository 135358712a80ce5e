/**
 * Tenure's Prometheus metrics (prom-client), one registry per worker process. Counters are fed by
 * the activity interceptor (metrics/activity-interceptor.ts); the person gauges are Temporal
 * visibility counts, taken when Prometheus scrapes and cached for a short while so a busy
 * dashboard does not turn into a stream of visibility queries.
 */
import client from 'prom-client';
import type { Client } from '@temporalio/client';
import { EMPLOYEE_WORKFLOW_TYPE, type LifecycleState, type ProvisioningHealth } from '../common/messages.js';

export const LIFECYCLE_STATES: readonly LifecycleState[] = [
  'pending',
  'prehire',
  'active',
  'leaver',
  'deleted',
  'rescinded',
];
export const HEALTH_STATES: readonly ProvisioningHealth[] = ['ok', 'retrying', 'failed', 'excluded'];

/** Every metric name the worker exports (the dashboard test checks its queries against this). */
export const METRIC_NAMES = [
  'tenure_polls_total',
  'tenure_poll_duration_seconds',
  'tenure_poll_records_read_total',
  'tenure_poll_changes_total',
  'tenure_poll_record_errors_total',
  'tenure_polls_held_total',
  'tenure_thresholds_tripped_total',
  'tenure_target_actions_total',
  'tenure_activity_duration_seconds',
  'tenure_persons',
  'tenure_persons_by_health',
  'tenure_persons_failing',
  'tenure_rules_info',
] as const;

export interface PersonCounter {
  /** Running employee workflows matching a visibility query fragment. */
  count(filter: string): Promise<number>;
}

/** Counts through Temporal visibility; search attribute values are plain codes, quoted safely. */
export function visibilityCounter(temporal: Client): PersonCounter {
  return {
    async count(filter) {
      const query = `WorkflowType = '${EMPLOYEE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND ${filter}`;
      const { count } = await temporal.workflow.count(query);
      return count;
    },
  };
}

/** A visibility string literal: values here are fixed codes, but escape anyway. */
export function quoteVisibility(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface TenureMetricsOptions {
  rulesVersion: string;
  persons?: PersonCounter;
  /** How long visibility counts are reused between scrapes (ms). Default 15 s. */
  personsCacheMs?: number;
  /** Process metrics (CPU, memory, event loop) under the `tenure_` prefix. Default on. */
  processMetrics?: boolean;
  /** LDAP operations each directory connector has sent since the worker started, by operation. */
  ldapOperations?: () => { target: string; counts: Record<string, number> }[];
}

export class TenureMetrics {
  readonly registry = new client.Registry();
  readonly polls: client.Counter<'source' | 'outcome'>;
  readonly pollDuration: client.Histogram<'source' | 'outcome'>;
  readonly pollRecords: client.Counter<'source'>;
  readonly pollChanges: client.Counter<'source' | 'kind'>;
  readonly pollErrors: client.Counter<'source'>;
  readonly pollsHeld: client.Counter<'source'>;
  readonly thresholdsTripped: client.Counter<'source' | 'scope' | 'metric'>;
  readonly targetActions: client.Counter<'target' | 'action' | 'outcome'>;
  readonly activityDuration: client.Histogram<'activity' | 'task_queue' | 'outcome'>;
  private readonly rulesInfo: client.Gauge<'version'>;
  private personsCache: { at: number; pending: Promise<PersonCounts> } | undefined;

  constructor(private readonly options: TenureMetricsOptions) {
    const registers = [this.registry];
    this.polls = new client.Counter({
      name: 'tenure_polls_total',
      help: 'Finished polls per source and outcome (accepted, empty, held, rejected, failed).',
      labelNames: ['source', 'outcome'],
      registers,
    });
    this.pollDuration = new client.Histogram({
      name: 'tenure_poll_duration_seconds',
      help: 'Time from the start of a poll to its end (a held poll includes the wait for an admin).',
      labelNames: ['source', 'outcome'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 900, 3600, 86400],
      registers,
    });
    this.pollRecords = new client.Counter({
      name: 'tenure_poll_records_read_total',
      help: 'Records read from the source by polls.',
      labelNames: ['source'],
      registers,
    });
    this.pollChanges = new client.Counter({
      name: 'tenure_poll_changes_total',
      help: 'Persons added, changed or removed by polls (before thresholds).',
      labelNames: ['source', 'kind'],
      registers,
    });
    this.pollErrors = new client.Counter({
      name: 'tenure_poll_record_errors_total',
      help: 'Source records rejected by validation.',
      labelNames: ['source'],
      registers,
    });
    this.pollsHeld = new client.Counter({
      name: 'tenure_polls_held_total',
      help: 'Polls held by thresholds, waiting for an admin.',
      labelNames: ['source'],
      registers,
    });
    this.thresholdsTripped = new client.Counter({
      name: 'tenure_thresholds_tripped_total',
      help: 'Threshold limits that tripped, per limit.',
      labelNames: ['source', 'scope', 'metric'],
      registers,
    });
    this.targetActions = new client.Counter({
      name: 'tenure_target_actions_total',
      help: 'Actions on target systems per target, action and outcome (as written to the audit log).',
      labelNames: ['target', 'action', 'outcome'],
      registers,
    });
    this.activityDuration = new client.Histogram({
      name: 'tenure_activity_duration_seconds',
      help: 'Activity execution time per activity type, task queue and outcome (ok or error).',
      labelNames: ['activity', 'task_queue', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.rulesInfo = new client.Gauge({
      name: 'tenure_rules_info',
      help: 'The rules version this worker runs (value 1).',
      labelNames: ['version'],
      registers,
    });
    this.rulesInfo.set({ version: options.rulesVersion }, 1);

    const personCounts = () => this.personCounts();
    new client.Gauge({
      name: 'tenure_persons',
      help: 'Running employee workflows per lifecycle state (Temporal visibility, cached briefly).',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await personCounts();
        if (!counts) return;
        for (const [state, n] of Object.entries(counts.byState)) this.set({ state }, n);
      },
    });
    new client.Gauge({
      name: 'tenure_persons_by_health',
      help: 'Running employee workflows per provisioning health (Temporal visibility, cached briefly).',
      labelNames: ['health'],
      registers,
      async collect() {
        const counts = await personCounts();
        if (!counts) return;
        for (const [health, n] of Object.entries(counts.byHealth)) this.set({ health }, n);
      },
    });
    new client.Gauge({
      name: 'tenure_persons_failing',
      help: 'Persons whose provisioning is failing or retrying (ProvisioningHealth failed or retrying).',
      registers,
      async collect() {
        const counts = await personCounts();
        if (!counts) return;
        this.set((counts.byHealth.failed ?? 0) + (counts.byHealth.retrying ?? 0));
      },
    });
    const ldapOperations = options.ldapOperations;
    if (ldapOperations) {
      new client.Counter({
        name: 'tenure_ldap_operations_total',
        help: 'LDAP operations sent to each directory target, per operation (bind, search, add, modify, modifyDN, del).',
        labelNames: ['target', 'operation'],
        registers,
        collect() {
          this.reset();
          for (const { target, counts } of ldapOperations())
            for (const [operation, n] of Object.entries(counts)) if (n > 0) this.inc({ target, operation }, n);
        },
      });
    }
    if (options.processMetrics ?? true) client.collectDefaultMetrics({ register: this.registry, prefix: 'tenure_' });
  }

  setRulesVersion(version: string): void {
    this.rulesInfo.reset();
    this.rulesInfo.set({ version }, 1);
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One set of visibility counts per cache period, shared by the three person gauges of a scrape. */
  private async personCounts(): Promise<PersonCounts | undefined> {
    const persons = this.options.persons;
    if (!persons) return undefined;
    const now = Date.now();
    const ttl = this.options.personsCacheMs ?? 15_000;
    if (!this.personsCache || now - this.personsCache.at > ttl) {
      const pending = countPersons(persons);
      this.personsCache = { at: now, pending };
      // A failed count is not cached: the next scrape asks again.
      pending.catch(() => {
        if (this.personsCache?.pending === pending) this.personsCache = undefined;
      });
    }
    try {
      return await this.personsCache.pending;
    } catch (err) {
      // Temporal unreachable: the scrape still answers, without the person gauges.
      console.warn(`[metrics] person counts unavailable: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }
}

interface PersonCounts {
  byState: Record<string, number>;
  byHealth: Record<string, number>;
}

async function countPersons(persons: PersonCounter): Promise<PersonCounts> {
  const [states, healths] = await Promise.all([
    Promise.all(LIFECYCLE_STATES.map((s) => persons.count(`LifecycleState = ${quoteVisibility(s)}`))),
    Promise.all(HEALTH_STATES.map((h) => persons.count(`ProvisioningHealth = ${quoteVisibility(h)}`))),
  ]);
  return {
    byState: Object.fromEntries(LIFECYCLE_STATES.map((s, i) => [s, states[i] ?? 0])),
    byHealth: Object.fromEntries(HEALTH_STATES.map((h, i) => [h, healths[i] ?? 0])),
  };
}
