/**
 * The Spend Cloud CSV dialect (docs/targets/spendcloud.md), as Windows PowerShell 5.1
 * `Export-Csv -NoTypeInformation -Encoding utf8` writes it: every header and value in double
 * quotes, embedded quotes doubled (RFC 4180), UTF-8 with BOM, CRLF after every row including the
 * last; `;` for the persons file, `,` for the roles file.
 *
 * Cell safety (CSV formula injection, OWASP): a value whose first character is `=`, `+`, `-`, `@`,
 * TAB or CR is prefixed with a single quote `'`, so a spreadsheet opening the file shows text and
 * never evaluates it. Other control characters (LF, NUL, ...) never belong in these fields and are
 * replaced by a space; the quoting keeps `;`, `,` and `"` inside one cell.
 */

export interface CsvDialect {
  separator: ';' | ',';
  bom: boolean;
  lineEnding: 'crlf' | 'lf';
  formulaGuard: boolean;
}

const FORMULA_START = /^[=+\-@\t\r]/;
// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** The cell text as written between the quotes (before quote doubling). */
export function safeCell(value: string | null | undefined, formulaGuard = true): string {
  const v = value ?? '';
  const guarded = formulaGuard && FORMULA_START.test(v) ? `'${v}` : v;
  return guarded.replace(CONTROL, ' ');
}

function quote(cell: string): string {
  return `"${cell.replace(/"/g, '""')}"`;
}

export const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Builds one file in memory (50,000 persons are a few MB). */
export class CsvWriter {
  readonly #parts: string[] = [];
  readonly #eol: string;
  rows = 0;

  constructor(
    readonly dialect: CsvDialect,
    header: readonly string[],
  ) {
    this.#eol = dialect.lineEnding === 'crlf' ? '\r\n' : '\n';
    // Headers are ours: quoted, never guarded.
    this.#parts.push(header.map((h) => quote(h.replace(CONTROL, ' '))).join(dialect.separator) + this.#eol);
  }

  row(values: readonly (string | null | undefined)[]): void {
    this.#parts.push(
      values.map((v) => quote(safeCell(v, this.dialect.formulaGuard))).join(this.dialect.separator) + this.#eol,
    );
    this.rows++;
  }

  /** The rows written since the last take (the header first), removed from memory: for writing a file as it grows. */
  take(): string {
    const text = this.#parts.join('');
    this.#parts.length = 0;
    return text;
  }

  toBuffer(): Buffer {
    const body = Buffer.from(this.#parts.join(''), 'utf8');
    return this.dialect.bom ? Buffer.concat([BOM, body]) : body;
  }
}
