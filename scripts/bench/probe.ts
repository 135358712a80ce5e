/**
 * The single-change probe of the provisioning benchmark (issue 9: "a single person's change made
 * while a 10,000-person load is running reaches AD within 5 s of the poll that sees it; with idle
 * queues, within 1 s"). One person in a source of its own (the file source of a config file, so
 * the load's poll does not hold it up) is hired before the load; during the load and again after
 * it, their title changes in the export and a poll of that source runs. Measured: from the poll's
 * start to the new title in AD, read every 100 ms.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Client as LdapClient } from 'ldapts';
import { POLL_WORKFLOW_TYPE, type PollSummary } from '../../common/messages.js';
import { LIFECYCLE_TASK_QUEUE } from '../../common/task-queues.js';
import { escapeFilterValue } from '../../connectors/ldap-escape.js';
import { csvOf, makePersons, sleep, ZONE, type BenchPerson } from './stack.js';

export interface ProbeMeasurement {
  label: string;
  /** Poll start → the new title readable in AD. */
  totalMs: number;
  /** Poll start → the poll workflow's result (read, diffed, signalled, accepted). */
  pollMs: number;
  /** Enabled persons of the load when the change was polled. */
  loadEnabledAt?: number;
}

export class SingleChangeProbe {
  readonly sourceId: string;
  readonly configPath: string;
  private readonly exportPath: string;
  private person: BenchPerson;
  private polls = 0;

  constructor(
    private readonly o: { dir: string; runId: string; startDate: string; departmentCodes: string[]; baseDN: string },
  ) {
    this.sourceId = `probe${o.runId}`;
    this.exportPath = join(o.dir, 'probe-export.csv');
    this.configPath = join(o.dir, 'tenure.yaml');
    this.person = makePersons({
      count: 1,
      keyPrefix: `p${o.runId}`,
      startDate: o.startDate,
      departmentCodes: o.departmentCodes,
    })[0]!;
    writeFileSync(this.exportPath, csvOf([this.person]));
    writeFileSync(
      this.configPath,
      `timeZone: ${ZONE}
sources:
  - id: ${this.sourceId}
    kind: file
    every: 1d
    thresholds: { firstPoll: accept }
    options: { path: ${this.exportPath} }
`,
    );
  }

  /** Hires the probe person: polls their source and waits for the account in AD. */
  async hire(client: Client, ldap: LdapClient, timeoutMs = 60_000): Promise<void> {
    await this.poll(client);
    await this.waitForTitle(ldap, this.person.title[1], timeoutMs);
  }

  /** Changes the title, polls, and times the way to AD. */
  async measure(client: Client, ldap: LdapClient, label: string, loadEnabledAt?: number): Promise<ProbeMeasurement> {
    const title = `Probe ${label} ${this.polls}`;
    this.person = { ...this.person, title: [this.person.title[0], title] };
    writeFileSync(this.exportPath, csvOf([this.person]));
    const start = Date.now();
    const pollDone = this.poll(client).then(() => Date.now());
    await this.waitForTitle(ldap, title, 120_000);
    const totalMs = Date.now() - start;
    const pollMs = (await pollDone) - start;
    return { label, totalMs, pollMs, ...(loadEnabledAt !== undefined ? { loadEnabledAt } : {}) };
  }

  /** The probe person's key as the workflows know it (`<source>:<key>`). */
  get personKey(): string {
    return `${this.sourceId}:${this.person.key}`;
  }

  private async poll(client: Client): Promise<PollSummary> {
    this.polls += 1;
    return client.workflow.execute(POLL_WORKFLOW_TYPE, {
      taskQueue: LIFECYCLE_TASK_QUEUE,
      workflowId: `poll-${this.sourceId}-${this.polls}`,
      args: [{ sourceId: this.sourceId }],
    });
  }

  private async waitForTitle(ldap: LdapClient, title: string, timeoutMs: number): Promise<void> {
    const filter = `(&(objectClass=user)(employeeID=${escapeFilterValue(this.person.key)}))`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await ldap.search(this.o.baseDN, { scope: 'sub', filter, attributes: ['title'] });
      if (r.searchEntries[0]?.title === title) return;
      if (Date.now() > deadline) throw new Error(`probe: title "${title}" not in AD after ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }
}
