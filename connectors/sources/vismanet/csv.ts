/**
 * The CSV files of an export (docs/sources/vismanet.md): header row with lower-case column names, comma
 * separated (configurable), empty cell = no value. A result of several files is one table: the
 * files are read in order and every row keeps its own file name and line for error reports.
 */
import { parse } from 'csv-parse/sync';
import type { DownloadedFile } from './client.js';
import { VismaNetError } from './http.js';

export interface CsvRow {
  /** File name (dataset/part), for errors. */
  origin: string;
  /** 1-based line in that file where the row starts. */
  line: number;
  /** Cells in this row vs. cells in the header: a mismatch is a malformed row. */
  width: number;
  headerWidth: number;
  /** Trimmed, NFC-normalised cell; empty = undefined. */
  get(col: string): string | undefined;
}

export interface CsvTable {
  columns: Set<string>;
  rows: CsvRow[];
}

export interface CsvOptions {
  delimiter: ',' | ';' | '\t';
  encoding: 'utf-8' | 'windows-1252' | 'iso-8859-1';
  multiFileHeader: 'auto' | 'each' | 'first';
}

export function decode(bytes: Uint8Array, encoding: CsvOptions['encoding'], origin: string): string {
  try {
    // TextDecoder drops a leading BOM; fatal only matters for UTF-8 (single-byte encodings map every byte).
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    throw new VismaNetError(`${origin}: not valid ${encoding} (set the source's encoding option)`);
  }
}

type Parsed = { record: string[]; info: { lines: number; empty_lines: number } }[];

function parseFile(text: string, delimiter: string, origin: string): Parsed {
  try {
    return parse(text, {
      delimiter,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
    }) as unknown as Parsed;
  } catch (e) {
    // csv-parse names the line; the message may quote a cell, so only its code and line.
    const err = e as { code?: string; lines?: number };
    throw new VismaNetError(
      `${origin}: not readable as CSV (${err.code ?? 'parse error'} at line ${err.lines ?? '?'})`,
    );
  }
}

const headerName = (s: string) => s.normalize('NFC').trim().toLowerCase();

/** Read every file of one dataset as one table. A duplicated or missing header fails the import. */
export function readTable(files: readonly DownloadedFile[], opts: CsvOptions, dataset: string): CsvTable {
  let header: string[] | undefined;
  let index = new Map<string, number>();
  const rows: CsvRow[] = [];
  for (const file of files) {
    const text = decode(file.bytes, opts.encoding, file.name);
    if (text.trim() === '') continue; // an empty part: nothing in it
    const records = parseFile(text, opts.delimiter, file.name);
    let start = 0;
    const first = records[0]?.record.map(headerName);
    if (!header) {
      if (!first) continue;
      header = first;
      index = new Map();
      header.forEach((name, i) => {
        if (!name) return;
        if (index.has(name)) throw new VismaNetError(`${file.name}: column ${name} appears twice in the header`);
        index.set(name, i);
      });
      start = 1;
    } else if (opts.multiFileHeader === 'each') {
      if (first?.join('\u0000') !== header.join('\u0000')) {
        throw new VismaNetError(`${file.name}: header differs from the first file of the ${dataset} export`);
      }
      start = 1;
    } else if (opts.multiFileHeader === 'auto' && first?.join('\u0000') === header.join('\u0000')) {
      start = 1;
    }
    const headerWidth = header.length;
    let prevEnd = start === 1 ? (records[0]?.info.lines ?? 1) : 0;
    let prevEmpty = start === 1 ? (records[0]?.info.empty_lines ?? 0) : 0;
    for (const { record, info } of records.slice(start)) {
      const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
      prevEnd = info.lines;
      prevEmpty = info.empty_lines;
      const cells = record.map((c) => c.normalize('NFC').trim());
      if (cells.every((c) => c === '')) continue;
      const idx = index;
      rows.push({
        origin: file.name,
        line,
        width: record.length,
        headerWidth,
        get(col) {
          const i = idx.get(col);
          const v = i === undefined ? undefined : cells[i];
          return v === '' ? undefined : v;
        },
      });
    }
  }
  return { columns: new Set(index.keys()), rows };
}
