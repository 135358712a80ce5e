/**
 * The file source: an HR export as CSV (one row per contract) or JSON, in the layout documented in
 * docs/hr-export.md. Every record is validated with the zod schemas of domain/model.ts; a bad
 * record becomes a SourceRecordError and never stops the others.
 *
 * File-level failures that would make the import look empty or truncated (file missing, too big,
 * too many records, not UTF-8, not parseable, wrong JSON shape) throw a FileSourceError instead of
 * returning a partial import: the poll fails and retries, and nobody is disabled because of it.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { z } from 'zod';
import { Department, Person, type PersonInput } from '../../domain/model.js';
import { canonicalJson } from '../../common/snapshot.js';
import type { SourceConnector, SourceImport, SourceRecordError } from '../types.js';
import { compact } from './compact.js';
import {
  isEmptyMapping,
  mapContract,
  mapPerson,
  readPath,
  type MappingProblem,
  type MappingScopes,
  type SourceFieldMapping,
  type SourceView,
} from './field-mapping.js';

export const DEFAULT_MAX_BYTES = 200 * 1024 * 1024;
export const DEFAULT_MAX_RECORDS = 1_000_000;

/** Person columns: repeated on every row of the person, and must agree between those rows. */
export const PERSON_COLUMNS = [
  'person_key',
  'nick_name',
  'given_name',
  'initials',
  'family_name_prefix',
  'family_name',
  'partner_name_prefix',
  'partner_name',
  'name_convention',
  'business_email',
  'business_phone',
  'location',
] as const;

/** Contract columns: one contract per row; all empty = a row for a person without contracts. */
export const CONTRACT_COLUMNS = [
  'contract_id',
  'start_date',
  'end_date',
  'department_code',
  'department_name',
  'title_code',
  'title_name',
  'contract_location',
  'manager_key',
  'cost_center',
  'employer',
  'fte',
  'sequence',
] as const;

/** Optional columns on a contract row describing the contract's department (→ Department records). */
export const DEPARTMENT_ROW_COLUMNS = ['department_manager_key', 'department_parent_code'] as const;

/** Columns of a separate departments CSV file. */
export const DEPARTMENT_FILE_COLUMNS = [
  'department_code',
  'department_name',
  'department_manager_key',
  'department_parent_code',
] as const;

/** Without these in the header every record of the file is rejected. */
export const REQUIRED_COLUMNS = [
  'person_key',
  'nick_name',
  'family_name',
  'contract_id',
  'start_date',
  'department_code',
] as const;

/** `custom.<name>` columns become `person.custom[<name>]` (a person column). */
export const CUSTOM_PREFIX = 'custom.';

/** Appended to every error that rejects a person record. */
export const REJECTED = 'record rejected; the person keeps its last good data';
const DEPT_REJECTED = 'department rejected';

export class FileSourceError extends Error {
  constructor(
    readonly origin: string,
    message: string,
  ) {
    super(`${origin}: ${message}`);
    this.name = 'FileSourceError';
  }
}

export type FileFormat = 'csv' | 'json';

export interface FileSourceOptions {
  /** Source id, the prefix of every person key (`file:100234`). Default `file`. */
  id?: string;
  /** The HR export. */
  path: string;
  /** Optional separate departments file (CSV or JSON). */
  departmentsPath?: string;
  /** Default: by extension (`.json` is JSON, anything else CSV). */
  format?: FileFormat;
  /** CSV separator; default auto-detected from the header line (`;` or `,`). */
  delimiter?: ';' | ',' | '\t';
  /** Refuse a file larger than this many bytes. Default 200 MiB. */
  maxBytes?: number;
  /** Refuse a file with more records than this (CSV data rows, JSON array elements). Default 1,000,000. */
  maxRecords?: number;
  /** The source's field mapping (config file `fieldMapping` / `customFields`): `person.<column>`, `contract.<column>`. */
  mapping?: SourceFieldMapping;
}

/** What a file source's field mapping may read: a person's column (first row) or member, a contract's. */
export const FILE_MAPPING_SCOPES: MappingScopes = { person: ['person.'], contract: ['contract.'] };

export interface ParseOptions {
  mapping?: SourceFieldMapping;
  source: string;
  /** File name to put in errors. */
  origin: string;
  format: FileFormat;
  delimiter?: ';' | ',' | '\t';
  maxRecords?: number;
}

const SOURCE_ID = /^[a-z][a-z0-9-]{0,31}$/;

export class FileSource implements SourceConnector {
  readonly id: string;
  private readonly opts: FileSourceOptions;

  constructor(opts: FileSourceOptions) {
    this.id = opts.id ?? 'file';
    if (!SOURCE_ID.test(this.id)) throw new Error(`file source: invalid source id '${this.id}'`);
    this.opts = opts;
  }

  async fetchAll(): Promise<SourceImport> {
    const { path, departmentsPath } = this.opts;
    const main = readHrExport(await readExport(path, this.opts.maxBytes), {
      source: this.id,
      origin: path,
      format: this.opts.format ?? formatOf(path),
      delimiter: this.opts.delimiter,
      maxRecords: this.opts.maxRecords,
      ...(this.opts.mapping ? { mapping: this.opts.mapping } : {}),
    });
    if (!departmentsPath) return finish(main);
    const depts = parseDepartmentsFile(await readExport(departmentsPath, this.opts.maxBytes), {
      source: this.id,
      origin: departmentsPath,
      format: formatOf(departmentsPath),
      delimiter: this.opts.delimiter,
      maxRecords: this.opts.maxRecords,
    });
    return finish(main, depts);
  }
}

export function formatOf(path: string): FileFormat {
  return extname(path).toLowerCase() === '.json' ? 'json' : 'csv';
}

/** Read a file within the size limit and decode it as UTF-8 (BOM stripped). */
export async function readExport(path: string, maxBytes = DEFAULT_MAX_BYTES): Promise<string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    throw new FileSourceError(path, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (size > maxBytes) throw new FileSourceError(path, `file is ${size} bytes, over the limit of ${maxBytes}`);
  return decodeUtf8(await readFile(path), path);
}

export function decodeUtf8(bytes: Uint8Array, origin: string): string {
  try {
    // TextDecoder strips a leading BOM by default.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileSourceError(origin, 'not valid UTF-8 (save the export as UTF-8)');
  }
}

// ---------------------------------------------------------------- intermediate records

/** One person record before validation, with what is needed to point at its lines and fields. */
interface Candidate {
  key?: string;
  /** Where the record starts (CSV line, JSON index). */
  line: number;
  input: Record<string, unknown>;
  /** Errors found while reading (conflicts, unreadable numbers, ...); any error rejects the person. */
  errors: SourceRecordError[];
  /** Per contract index: where it came from. */
  contractLines: number[];
  /** Model path (e.g. `contracts.0.startDate`) to the field name to report. */
  fieldName: (path: readonly PropertyKey[]) => string;
  /** Model path to the line to report. */
  lineOf: (path: readonly PropertyKey[]) => number;
}

interface DeptCandidate {
  code: string;
  line: number;
  origin: string;
  input: Record<string, unknown>;
  fieldName: (path: readonly PropertyKey[]) => string;
}

/** What one file yields before the cross-record checks and the department merge. */
interface ParsedFile {
  source: string;
  origin: string;
  candidates: Candidate[];
  /** Departments listed explicitly (JSON `departments`, departments file). */
  departments: DeptCandidate[];
  /** Departments seen on contract rows (fill codes not listed explicitly). */
  rowDepartments: DeptCandidate[];
  /** Errors not tied to a person candidate (file level, rows without a key). */
  errors: SourceRecordError[];
  recordsRead: number;
}

/** Parse an HR export held in memory: the whole pipeline except reading the file. */
export function parseHrExport(content: string, opts: ParseOptions): SourceImport {
  return finish(readHrExport(content, opts));
}

function readHrExport(content: string, opts: ParseOptions): ParsedFile {
  return opts.format === 'json' ? readJson(content, opts) : readCsv(content, opts);
}

/** A departments file (CSV with DEPARTMENT_FILE_COLUMNS, or JSON array / `{ departments }`). */
function parseDepartmentsFile(content: string, opts: ParseOptions): ParsedFile {
  const out = emptyParsed(opts);
  if (opts.format === 'json') {
    const doc = parseJsonDoc(content, opts.origin);
    const list = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.departments) ? doc.departments : null;
    if (!list) throw new FileSourceError(opts.origin, 'expected an array of departments or { "departments": [...] }');
    checkRecordCount(list.length, opts);
    jsonDepartments(list, opts.origin, out);
    return out;
  }
  const table = readTable(content, opts);
  const missing = table.missing(['department_code']);
  out.errors.push(...table.headerErrors);
  for (const row of table.rows) {
    const code = row.get('department_code');
    if (missing.length || table.headerErrors.length || !code) {
      out.errors.push({
        source: opts.source,
        origin: opts.origin,
        line: row.line,
        key: code,
        field: 'department_code',
        reason: `${code ? 'header is unusable' : 'is empty'}; ${DEPT_REJECTED}`,
      });
      continue;
    }
    out.departments.push(rowDepartment(row, opts.origin, code));
  }
  return out;
}

function emptyParsed(opts: ParseOptions): ParsedFile {
  return {
    source: opts.source,
    origin: opts.origin,
    candidates: [],
    departments: [],
    rowDepartments: [],
    errors: [],
    recordsRead: 0,
  };
}

function checkRecordCount(n: number, opts: ParseOptions) {
  const max = opts.maxRecords ?? DEFAULT_MAX_RECORDS;
  if (n > max) throw new FileSourceError(opts.origin, `${n} records, over the limit of ${max}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

// ---------------------------------------------------------------- CSV

interface Row {
  /** 1-based line where the row starts; the header is line 1. */
  line: number;
  /** Number of cells in the row. */
  width: number;
  /** Trimmed, NFC-normalised cell by column name; empty cells are undefined. */
  get(col: string): string | undefined;
}

interface Table {
  columns: Set<string>;
  customColumns: string[];
  headerErrors: SourceRecordError[];
  width: number;
  rows: Row[];
  missing(required: readonly string[]): string[];
}

/** The separator of the header line (outside quotes): `;` when it has more of them than `,`. */
export function detectDelimiter(text: string): ';' | ',' {
  let semi = 0;
  let comma = 0;
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && ch === ';') semi++;
    else if (!quoted && ch === ',') comma++;
  }
  return semi > comma ? ';' : ',';
}

function readTable(content: string, opts: ParseOptions): Table {
  const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  if (text.trim() === '') throw new FileSourceError(opts.origin, 'file is empty (no header line)');
  const delimiter = opts.delimiter ?? detectDelimiter(text);
  let records: { record: string[]; info: { lines: number; empty_lines: number } }[];
  try {
    records = parse(text, {
      delimiter,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
    }) as unknown as typeof records;
  } catch (e) {
    throw new FileSourceError(opts.origin, `not readable as CSV: ${(e as Error).message}`);
  }
  checkRecordCount(records.length - 1, opts);

  const [head, ...body] = records;
  if (!head) throw new FileSourceError(opts.origin, 'file is empty (no header line)');
  const headerErrors: SourceRecordError[] = [];
  const index = new Map<string, number>();
  head.record.forEach((raw, i) => {
    const name = raw.normalize('NFC').trim().toLowerCase();
    if (!name) return;
    if (index.has(name)) {
      headerErrors.push({
        source: opts.source,
        origin: opts.origin,
        line: head.info.lines,
        field: name,
        reason: 'column appears more than once in the header; every record in this file is rejected',
      });
      return;
    }
    index.set(name, i);
  });

  // Line where each record starts: the line after the previous record ended, plus skipped empty lines.
  let prevEnd = head.info.lines;
  let prevEmpty = head.info.empty_lines;
  const rows: Row[] = [];
  for (const { record, info } of body) {
    const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
    const cells = record.map((c) => c.normalize('NFC').trim());
    if (cells.every((c) => c === '')) continue; // a line of separators only: nothing there
    rows.push({
      line,
      width: record.length,
      get(col) {
        const i = index.get(col);
        const v = i === undefined ? undefined : cells[i];
        return v === '' ? undefined : v;
      },
    });
  }
  const columns = new Set(index.keys());
  return {
    columns,
    customColumns: [...columns].filter((c) => c.startsWith(CUSTOM_PREFIX) && c.length > CUSTOM_PREFIX.length),
    headerErrors,
    width: head.record.length,
    rows,
    missing: (required) => required.filter((c) => !columns.has(c)),
  };
}

const PERSON_FIELD: Record<string, string> = {
  key: 'person_key',
  'name.nickName': 'nick_name',
  'name.given': 'given_name',
  'name.initials': 'initials',
  'name.familyNamePrefix': 'family_name_prefix',
  'name.familyName': 'family_name',
  'name.partnerNamePrefix': 'partner_name_prefix',
  'name.partnerName': 'partner_name',
  'name.convention': 'name_convention',
  name: 'nick_name',
  businessEmail: 'business_email',
  businessPhone: 'business_phone',
  location: 'location',
  contracts: 'contract_id',
};

const CONTRACT_FIELD: Record<string, string> = {
  id: 'contract_id',
  startDate: 'start_date',
  endDate: 'end_date',
  department: 'department_code',
  'department.code': 'department_code',
  'department.name': 'department_name',
  title: 'title_code',
  'title.code': 'title_code',
  'title.name': 'title_name',
  location: 'contract_location',
  managerKey: 'manager_key',
  costCenter: 'cost_center',
  employer: 'employer',
  fte: 'fte',
  sequence: 'sequence',
};

const DEPT_FIELD: Record<string, string> = {
  code: 'department_code',
  name: 'department_name',
  managerKey: 'department_manager_key',
  parentCode: 'department_parent_code',
};

function csvPersonField(path: readonly PropertyKey[]): string {
  if (path[0] === 'contracts' && typeof path[1] === 'number') {
    return CONTRACT_FIELD[path.slice(2).map(String).join('.')] ?? 'contract_id';
  }
  if (path[0] === 'custom') return path.length > 1 ? `${CUSTOM_PREFIX}${String(path[1])}` : 'custom';
  return PERSON_FIELD[path.map(String).join('.')] ?? path.map(String).join('.');
}

function readCsv(content: string, opts: ParseOptions): ParsedFile {
  const out = emptyParsed(opts);
  const table = readTable(content, opts);
  const err = (e: Omit<SourceRecordError, 'source' | 'origin'>): SourceRecordError => ({
    source: opts.source,
    origin: opts.origin,
    ...e,
  });

  const missing = table.missing(REQUIRED_COLUMNS);
  for (const col of missing) {
    out.errors.push(
      err({
        line: 1,
        field: col,
        reason: 'required column is missing from the header; every record in this file is rejected',
      }),
    );
  }
  out.errors.push(...table.headerErrors);
  const headerBroken = missing.length > 0 || table.headerErrors.length > 0;
  const headerReason = missing.length
    ? `required column missing from the file; ${REJECTED}`
    : `column appears more than once in the header; ${REJECTED}`;
  const headerField = (missing.length ? missing : table.headerErrors.map((e) => e.field)).join(',');

  // Group rows by person key, in order of first appearance.
  const groups = new Map<string, Row[]>();
  for (const row of table.rows) {
    const key = row.get('person_key');
    if (key === undefined) {
      out.recordsRead++;
      out.errors.push(
        err({
          line: row.line,
          field: headerBroken ? headerField : 'person_key',
          reason: headerBroken ? headerReason : `is empty; ${REJECTED}`,
        }),
      );
      continue;
    }
    const g = groups.get(key);
    if (g) g.push(row);
    else groups.set(key, [row]);
  }
  out.recordsRead += groups.size;

  const personCols = [...PERSON_COLUMNS, ...table.customColumns];
  const contractCols = CONTRACT_COLUMNS.filter((c) => table.columns.has(c));

  for (const [key, rows] of groups) {
    const first = rows[0] as Row;
    if (headerBroken) {
      out.errors.push(err({ line: first.line, key, field: headerField, reason: headerReason }));
      continue;
    }
    const errors: SourceRecordError[] = [];
    for (const row of rows) {
      if (row.width !== table.width) {
        errors.push(
          err({
            line: row.line,
            key,
            field: 'row',
            reason: `has ${row.width} fields, the header has ${table.width}; ${REJECTED}`,
          }),
        );
      }
    }
    for (const row of rows.slice(1)) {
      for (const col of personCols) {
        if (row.get(col) !== first.get(col)) {
          errors.push(
            err({
              line: row.line,
              key,
              field: col,
              reason: `differs from line ${first.line} for the same person_key; ${REJECTED}`,
            }),
          );
        }
      }
    }

    // Contracts: rows with any contract cell filled; identical repeats of a contract are dropped.
    const contracts: Record<string, unknown>[] = [];
    const contractRows: Row[] = [];
    const contractLines: number[] = [];
    const seen = new Map<string, { line: number; sig: string }>();
    for (const row of rows) {
      if (!contractCols.some((c) => row.get(c) !== undefined)) continue;
      const id = row.get('contract_id');
      const sig = JSON.stringify([...contractCols, ...DEPARTMENT_ROW_COLUMNS].map((c) => row.get(c) ?? null));
      if (id !== undefined) {
        const before = seen.get(id);
        if (before && before.sig === sig) continue;
        if (before) {
          errors.push(
            err({
              line: row.line,
              key,
              field: 'contract_id',
              reason: `contract ${id} appears again with different data (first on line ${before.line}); ${REJECTED}`,
            }),
          );
          continue;
        }
        seen.set(id, { line: row.line, sig });
      }
      const num = (col: 'fte' | 'sequence') => {
        const v = row.get(col);
        if (v === undefined) return undefined;
        const n = col === 'fte' ? parseDecimal(v) : /^\d+$/.test(v) ? Number(v) : undefined;
        if (n === undefined) {
          errors.push(
            err({
              line: row.line,
              key,
              field: col,
              reason: `${col === 'fte' ? 'not a number' : 'not a whole number'}; ${REJECTED}`,
            }),
          );
        }
        return n;
      };
      const titleCode = row.get('title_code');
      const titleName = row.get('title_name');
      contracts.push({
        id,
        startDate: row.get('start_date'),
        endDate: row.get('end_date'),
        department: { code: row.get('department_code'), name: row.get('department_name') },
        title: titleCode === undefined && titleName === undefined ? undefined : { code: titleCode, name: titleName },
        location: row.get('contract_location'),
        managerKey: row.get('manager_key'),
        costCenter: row.get('cost_center'),
        employer: row.get('employer'),
        fte: num('fte'),
        sequence: num('sequence'),
      });
      contractLines.push(row.line);
      contractRows.push(row);
      const dept = row.get('department_code');
      if (dept !== undefined) out.rowDepartments.push(rowDepartment(row, opts.origin, dept));
    }

    const custom: Record<string, string> = {};
    for (const col of table.customColumns) {
      const v = first.get(col);
      if (v !== undefined) custom[col.slice(CUSTOM_PREFIX.length)] = v;
    }
    const input: PersonInput = {
      source: opts.source,
      key,
      name: {
        nickName: first.get('nick_name') as string,
        given: first.get('given_name'),
        initials: first.get('initials'),
        familyNamePrefix: first.get('family_name_prefix'),
        familyName: first.get('family_name') as string,
        partnerNamePrefix: first.get('partner_name_prefix'),
        partnerName: first.get('partner_name'),
        convention: first.get('name_convention') as PersonInput['name']['convention'],
      },
      businessEmail: first.get('business_email'),
      businessPhone: first.get('business_phone'),
      location: first.get('location'),
      custom,
      contracts: contracts as PersonInput['contracts'],
    };
    if (opts.mapping && !isEmptyMapping(opts.mapping)) {
      // Column names are case-insensitive (lower-cased in the table).
      const cell = (row: Row, path: string, scope: string) =>
        path.startsWith(scope) ? row.get(path.slice(scope.length).toLowerCase()) : undefined;
      const person: SourceView = (path) => cell(first, path, 'person.');
      const problems: MappingProblem[] = [];
      const mapped = mapPerson(opts.mapping, person, problems);
      Object.assign(input, mapped.fields);
      input.custom = { ...custom, ...mapped.custom };
      for (const p of problems)
        errors.push(err({ line: first.line, key, field: p.field, reason: `${p.reason}; ${REJECTED}` }));
      contracts.forEach((c, i) => {
        const row = contractRows[i] as Row;
        const found: MappingProblem[] = [];
        mapContract(opts.mapping!, (path) => cell(row, path, 'contract.') ?? person(path), c, found);
        for (const p of found)
          errors.push(err({ line: row.line, key, field: p.field, reason: `${p.reason}; ${REJECTED}` }));
      });
    }
    out.candidates.push({
      key,
      line: first.line,
      input: compact(input) as Record<string, unknown>,
      errors,
      contractLines,
      fieldName: csvPersonField,
      lineOf: (path) =>
        path[0] === 'contracts' && typeof path[1] === 'number' ? (contractLines[path[1]] ?? first.line) : first.line,
    });
  }
  return out;
}

function rowDepartment(row: Row, origin: string, code: string): DeptCandidate {
  return {
    code,
    line: row.line,
    origin,
    input: compact({
      code,
      name: row.get('department_name'),
      managerKey: row.get('department_manager_key'),
      parentCode: row.get('department_parent_code'),
    }) as Record<string, unknown>,
    fieldName: (path) => DEPT_FIELD[String(path[0])] ?? 'department_code',
  };
}

/** `0.8`, `0,8`, `1`: a decimal with a dot or a comma. */
function parseDecimal(v: string): number | undefined {
  return /^-?\d+([.,]\d+)?$/.test(v) ? Number(v.replace(',', '.')) : undefined;
}

// ---------------------------------------------------------------- JSON

function parseJsonDoc(content: string, origin: string): unknown {
  const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FileSourceError(origin, `not readable as JSON: ${(e as Error).message}`);
  }
}

function jsonField(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** Normalise strings to NFC at every level, so CSV and JSON give the same persons. */
function nfc(v: unknown): unknown {
  if (typeof v === 'string') return v.normalize('NFC');
  if (Array.isArray(v)) return v.map(nfc);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, nfc(x)]));
  return v;
}

function readJson(content: string, opts: ParseOptions): ParsedFile {
  const out = emptyParsed(opts);
  const doc = parseJsonDoc(content, opts.origin);
  const persons = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.persons) ? doc.persons : null;
  if (!persons) throw new FileSourceError(opts.origin, 'expected an array of persons or { "persons": [...] }');
  const departments = isObject(doc) ? doc.departments : undefined;
  if (departments !== undefined && !Array.isArray(departments)) {
    throw new FileSourceError(opts.origin, '"departments" must be an array');
  }
  checkRecordCount(persons.length + (departments?.length ?? 0), opts);
  out.recordsRead = persons.length;

  persons.forEach((raw: unknown, i) => {
    if (!isObject(raw)) {
      out.errors.push({
        source: opts.source,
        origin: opts.origin,
        line: i,
        field: '',
        reason: `not an object; ${REJECTED}`,
      });
      return;
    }
    const v = nfc(raw) as Record<string, unknown>;
    const key = typeof v.key === 'string' && v.key.trim() !== '' ? v.key.trim() : undefined;
    const contracts = Array.isArray(v.contracts) ? v.contracts : [];
    const input: Record<string, unknown> = { ...v, source: opts.source };
    const errors: SourceRecordError[] = [];
    // Repeated contract ids within the person: identical repeats dropped, different ones an error.
    const seen = new Map<string, { index: number; sig: string }>();
    const kept: unknown[] = [];
    contracts.forEach((c: unknown, ci) => {
      const id = isObject(c) && typeof c.id === 'string' ? c.id.trim() : undefined;
      if (id) {
        const sig = canonicalJson(c);
        const before = seen.get(id);
        if (before && before.sig === sig) return;
        if (before) {
          errors.push({
            source: opts.source,
            origin: opts.origin,
            line: i,
            key,
            field: `contracts.${ci}.id`,
            reason: `contract ${id} appears again with different data (first at contracts.${before.index}); ${REJECTED}`,
          });
          return;
        }
        seen.set(id, { index: ci, sig });
      }
      kept.push(c);
    });
    if (Array.isArray(v.contracts)) input.contracts = kept;
    if (opts.mapping && !isEmptyMapping(opts.mapping)) {
      const member = (o: unknown, path: string, scope: string) =>
        path.startsWith(scope) ? readPath(o, path.slice(scope.length).split('.')) : undefined;
      const person: SourceView = (path) => member(v, path, 'person.');
      const problems: MappingProblem[] = [];
      const mapped = mapPerson(opts.mapping, person, problems);
      Object.assign(input, mapped.fields);
      if (Object.keys(mapped.custom).length)
        input.custom = { ...(isObject(v.custom) ? v.custom : {}), ...mapped.custom };
      input.contracts = kept.map((c) => {
        if (!isObject(c)) return c;
        const copy: Record<string, unknown> = { ...c };
        mapContract(opts.mapping!, (path) => member(c, path, 'contract.') ?? person(path), copy, problems);
        return copy;
      });
      for (const p of problems)
        errors.push({
          source: opts.source,
          origin: opts.origin,
          line: i,
          key,
          field: p.field,
          reason: `${p.reason}; ${REJECTED}`,
        });
    }
    out.candidates.push({
      key,
      line: i,
      input,
      errors,
      contractLines: kept.map(() => i),
      fieldName: jsonField,
      lineOf: () => i,
    });
  });
  if (departments) jsonDepartments(departments, opts.origin, out);
  return out;
}

function jsonDepartments(list: unknown[], origin: string, out: ParsedFile) {
  list.forEach((raw: unknown, i) => {
    const v = isObject(raw) ? (nfc(raw) as Record<string, unknown>) : undefined;
    const code = v && typeof v.code === 'string' ? v.code.trim() : '';
    if (!v || !code) {
      out.errors.push({
        source: out.source,
        origin,
        line: i,
        field: 'departments.code',
        reason: `${v ? 'is empty' : 'not an object'}; ${DEPT_REJECTED}`,
      });
      return;
    }
    out.departments.push({ code, line: i, origin, input: v, fieldName: (p) => `departments.${jsonField(p)}` });
  });
}

// ---------------------------------------------------------------- validation and cross-record checks

/** One message per field: zod may report a bad date twice (format, then calendar). */
function zodErrors(
  issues: readonly z.core.$ZodIssue[],
  at: (path: readonly PropertyKey[]) => { line: number; field: string },
  base: { source: string; origin: string; key?: string },
  suffix: string,
  emptyWord: string,
): SourceRecordError[] {
  const out: SourceRecordError[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const { line, field } = at(issue.path);
    const id = `${line}\u0000${field}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const message =
      issue.code === 'invalid_type' && /received undefined$/.test(issue.message) ? emptyWord : issue.message;
    out.push({ ...base, line, field, reason: `${message}; ${suffix}` });
  }
  return out;
}

function finish(main: ParsedFile, extraDepartments?: ParsedFile): SourceImport {
  const errors: SourceRecordError[] = [...main.errors, ...(extraDepartments?.errors ?? [])];
  const source = main.source;
  const base = (origin: string, key?: string) => ({ source, origin, ...(key === undefined ? {} : { key }) });
  const isCsv = (c: Candidate) => c.fieldName === csvPersonField;

  // Validate every candidate.
  type Checked = { cand: Candidate; person?: Person; errors: SourceRecordError[] };
  const checked: Checked[] = main.candidates.map((cand) => {
    const res = Person.safeParse(cand.input);
    const errs = [...cand.errors];
    if (!res.success) {
      errs.push(
        ...zodErrors(
          res.error.issues,
          (path) => ({ line: cand.lineOf(path), field: cand.fieldName(path) }),
          base(main.origin, cand.key),
          REJECTED,
          isCsv(cand) ? 'is empty' : 'is required',
        ),
      );
    }
    return { cand, person: res.success ? res.data : undefined, errors: errs };
  });

  // The same person key twice (JSON; CSV rows are grouped already): identical = once, else rejected.
  const byKey = new Map<string, Checked>();
  const dropped = new Set<Checked>();
  for (const c of checked) {
    if (c.cand.key === undefined) continue;
    const before = byKey.get(c.cand.key);
    if (!before) {
      byKey.set(c.cand.key, c);
      continue;
    }
    const same =
      before.person &&
      c.person &&
      !before.errors.length &&
      !c.errors.length &&
      canonicalJson(before.person) === canonicalJson(c.person);
    dropped.add(c);
    if (same) c.errors.length = 0;
    else {
      before.errors.push({
        ...base(main.origin, c.cand.key),
        line: c.cand.line,
        field: isCsv(c.cand) ? 'person_key' : 'key',
        reason: `person appears again with different data (first at index ${before.cand.line}); ${REJECTED}`,
      });
    }
  }
  const live = checked.filter((c) => !dropped.has(c));

  // A contract id may belong to one person only.
  const owners = new Map<string, { c: Checked; index: number }[]>();
  for (const c of live) {
    const list = Array.isArray(c.cand.input.contracts) ? c.cand.input.contracts : [];
    list.forEach((k: unknown, index) => {
      const id = isObject(k) && typeof k.id === 'string' ? k.id.trim() : undefined;
      if (!id) return;
      const o = owners.get(id) ?? [];
      if (!o.some((x) => x.c === c)) o.push({ c, index });
      owners.set(id, o);
    });
  }
  for (const [id, list] of owners) {
    if (list.length < 2) continue;
    for (const { c, index } of list) {
      const others = list
        .filter((x) => x.c !== c)
        .map(
          (x) =>
            `${x.c.cand.key ?? '?'} (${isCsv(x.c.cand) ? 'line' : 'index'} ${x.c.cand.contractLines[x.index] ?? x.c.cand.line})`,
        )
        .join(', ');
      c.errors.push({
        ...base(main.origin, c.cand.key),
        line: c.cand.contractLines[index] ?? c.cand.line,
        field: isCsv(c.cand) ? 'contract_id' : `contracts.${index}.id`,
        reason: `contract id ${id} is also used by person ${others}; ${REJECTED}`,
      });
    }
  }

  const persons: Person[] = [];
  for (const c of checked) {
    if (!dropped.has(c) && c.errors.length === 0 && c.person) persons.push(c.person);
    errors.push(...c.errors);
  }

  // Departments: explicit lists win; contract rows fill the codes they do not list.
  const explicit = [...main.departments, ...(extraDepartments?.departments ?? [])];
  const explicitCodes = new Set(explicit.map((d) => d.code));
  const fromRows = main.rowDepartments.filter((d) => !explicitCodes.has(d.code));
  const departments = mergeDepartments([...explicit, ...fromRows], source, errors);

  // Deterministic order: by file (main file first), then by line.
  const rank = new Map<string, number>([[main.origin, 0]]);
  for (const e of errors) if (!rank.has(e.origin)) rank.set(e.origin, rank.size);
  errors.sort((a, b) => (rank.get(a.origin) ?? 0) - (rank.get(b.origin) ?? 0) || (a.line ?? 0) - (b.line ?? 0));
  return { persons, departments, errors, recordsRead: main.recordsRead };
}

function mergeDepartments(cands: DeptCandidate[], source: string, errors: SourceRecordError[]): Department[] {
  const byCode = new Map<string, { first: DeptCandidate; sig: string; bad: boolean; dept?: Department }>();
  for (const d of cands) {
    const res = Department.safeParse(d.input);
    const before = byCode.get(d.code);
    if (!res.success) {
      errors.push(
        ...zodErrors(
          res.error.issues,
          (path) => ({ line: d.line, field: d.fieldName(path) }),
          { source, origin: d.origin, key: d.code },
          DEPT_REJECTED,
          'is empty',
        ),
      );
      if (before) before.bad = true;
      else byCode.set(d.code, { first: d, sig: '', bad: true });
      continue;
    }
    const sig = canonicalJson(res.data);
    if (!before) {
      byCode.set(d.code, { first: d, sig, bad: false, dept: res.data });
    } else if (before.sig !== sig && !before.bad) {
      before.bad = true;
      const a = (before.dept ?? {}) as Record<string, unknown>;
      const b = res.data as Record<string, unknown>;
      const diff = ['name', 'managerKey', 'parentCode'].find((k) => a[k] !== b[k]) ?? 'name';
      const where = before.first.origin === d.origin ? '' : `${before.first.origin} `;
      const unit = /^departments\./.test(d.fieldName(['code'])) ? 'index' : 'line';
      errors.push({
        source,
        origin: d.origin,
        line: d.line,
        key: d.code,
        field: d.fieldName([diff]),
        reason: `differs from ${where}${unit} ${before.first.line} for the same department; ${DEPT_REJECTED}`,
      });
    }
  }
  return [...byCode.values()].filter((x) => !x.bad && x.dept).map((x) => x.dept as Department);
}
