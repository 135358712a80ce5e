/**
 * Visma.net HRM (NL) source (docs/sources/vismanet.md): reads the analytics export API — employees,
 * contracts, organization units, cost centers, users and (when custom fields are mapped) employee
 * user-defined field histories — as asynchronous export jobs, and maps them to the uniform model.
 *
 * A failed token request, export job or download throws (VismaNetError): the poll fails and the
 * last snapshot stays. A malformed row becomes a SourceRecordError and the rest is imported.
 * No write-back: the spec knows no Visma.net HRM API to write e-mail or username back.
 * See docs/sources/vismanet.md.
 */
import { localDate } from '../../domain/dates.js';
import type { SourceConnector, SourceImport } from '../types.js';
import { VismaNetClient, type Dataset } from './vismanet/client.js';
import { readTable, type CsvTable } from './vismanet/csv.js';
import { VismaNetError, type Sleep } from './vismanet/http.js';
import { mapExport } from './vismanet/mapping.js';
import { VismaNetSourceOptions, type VismaNetSettings } from './vismanet/options.js';
import { EMPTY_MAPPING, mappedPaths, type SourceFieldMapping } from './field-mapping.js';
import { VISMANET_MAPPING_SCOPES, mappedUdfFields } from './vismanet/field-mapping.js';

export { VismaNetSourceOptions, DEFAULT_SCOPES, DEFAULT_NAME_USAGE } from './vismanet/options.js';
export type { VismaNetSettings } from './vismanet/options.js';
export { VismaNetError } from './vismanet/http.js';
export { REJECTED } from './vismanet/mapping.js';
export type { Dataset, ExportResult } from './vismanet/client.js';
export { VISMANET_MAPPING_SCOPES };

export interface VismaNetDeps {
  /** Waits between polls and retries (tests may speed these up or record them). */
  sleep?: Sleep;
  /** Epoch ms: token expiry, job deadlines and (unless `today` is given) today's date. */
  now?: () => number;
  /** Today's date `YYYY-MM-DD` for cut-off and validity; default from `now` in the options' time zone. */
  today?: () => string;
  /** The source's compiled field mapping (config file `fieldMapping` / `customFields`). */
  mapping?: SourceFieldMapping;
}

/** What the last fetchAll did, for logs and tests: jobs, polls and files per dataset. No data. */
export interface VismaNetRunInfo {
  jobs: { dataset: Dataset; jobId: string; polls: number; files: string[]; changeTimestampBefore: string | null }[];
}

export class VismaNetSource implements SourceConnector {
  readonly id: string;
  private readonly settings: Omit<VismaNetSettings, 'clientSecret'>;
  private readonly client: VismaNetClient;
  private readonly today: () => string;
  private readonly mapping: SourceFieldMapping;
  lastRun: VismaNetRunInfo | undefined;

  constructor(options: VismaNetSourceOptions, deps: VismaNetDeps = {}) {
    const res = VismaNetSourceOptions.safeParse(options);
    if (!res.success) {
      // Paths and messages only: zod does not echo the values, so the secret stays out.
      const what = res.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
      throw new VismaNetError(`Visma.net source: invalid options: ${what}`);
    }
    const { clientSecret, ...settings } = res.data;
    this.id = settings.id;
    this.settings = settings;
    this.client = new VismaNetClient(settings, clientSecret, deps);
    const now = deps.now ?? Date.now;
    this.today = deps.today ?? (() => localDate(now(), settings.timeZone));
    this.mapping = deps.mapping ?? EMPTY_MAPPING;
    // A mapped column the export is told to leave out would silently stay empty: refuse it.
    const excluded = mappedPaths(this.mapping).filter(
      (p) =>
        (p.startsWith('employee.') && settings.employeeFieldsExclude.includes(p.slice(9))) ||
        (p.startsWith('contract.') && settings.contractFieldsExclude.includes(p.slice(9))),
    );
    if (excluded.length) {
      throw new VismaNetError(
        `Visma.net source: the field mapping reads ${excluded.join(', ')}, which the options exclude from the export (employeeFieldsExclude / contractFieldsExclude)`,
      );
    }
  }

  async fetchAll(): Promise<SourceImport> {
    const s = this.settings;
    const wanted: [Dataset, readonly string[]][] = [
      ['employees', s.employeeFieldsExclude],
      ['contracts', s.contractFieldsExclude],
      ['metadata/organization-units', []],
      ['users', []],
    ];
    if (s.costCenterLookup) wanted.push(['metadata/cost-centers', []]);
    if (s.customFields.length || mappedUdfFields(mappedPaths(this.mapping)).length)
      wanted.push(['employees/user-defined-field-histories', []]);

    const results = await limit(wanted, s.maxConcurrentJobs, ([dataset, exclude]) =>
      this.client.export(dataset, exclude),
    );
    this.lastRun = {
      jobs: results.map((r) => ({
        dataset: r.dataset,
        jobId: r.jobId,
        polls: r.polls,
        files: r.files.map((f) => f.name),
        changeTimestampBefore: r.changeTimestampBefore,
      })),
    };
    const table = (d: Dataset, required: readonly string[]): CsvTable | undefined => {
      const r = results.find((x) => x.dataset === d);
      if (!r) return undefined;
      const t = readTable(r.files, s, d);
      const missing = required.filter((c) => !t.columns.has(c));
      // A missing key column would make every record look removed: fail instead.
      if (t.rows.length && missing.length) {
        throw new VismaNetError(`Visma.net export ${d}: column(s) ${missing.join(', ')} missing from the header`);
      }
      return t;
    };
    const tables = {
      employees: table('employees', ['employeeid'])!,
      contracts: table('contracts', ['employeeid', 'contractid', 'subcontractid', 'startdate'])!,
      organizationUnits: table('metadata/organization-units', ['orgunitid'])!,
      users: table('users', ['userid'])!,
      costCenters: table('metadata/cost-centers', ['costcenter', 'costcentername']),
      employeeUdf: table('employees/user-defined-field-histories', ['employeeid', 'fieldname']),
    };
    return mapExport(tables, s, this.today(), this.mapping);
  }
}

/** Run `fn` over `items` with at most `n` at a time; the first failure fails the whole (after the others settle). */
async function limit<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failure !== undefined) throw failure;
  return out;
}
