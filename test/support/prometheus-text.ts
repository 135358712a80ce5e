/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), written from the
 * format's rules rather than prom-client's code, so the tests check what Prometheus would read:
 * every line is a comment, a `# HELP`/`# TYPE` line or a sample `name{label="value",...} value
 * [timestamp]`; names and label names follow the format's character rules, label values use its
 * three escapes, values are Go floats (or ±Inf, NaN), samples of one family are contiguous, a
 * family is TYPEd before its samples, and histogram series carry the right suffixes and `le`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The series name as written (with _bucket/_sum/_count for histograms). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  // Prometheus reads values with Go's ParseFloat: inf, infinity and nan in any case.
  const word = text.toLowerCase();
  if (['+inf', 'inf', '+infinity', 'infinity'].includes(word)) return Infinity;
  if (word === '-inf' || word === '-infinity') return -Infinity;
  if (word === 'nan') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value '${text}'`);
  return Number(text);
}

function familyOf(name: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  for (const suffix of ['_bucket', '_sum', '_count', '']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, name.length - suffix.length));
    if (!f) continue;
    if (suffix === '') return f;
    if (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket')) return f;
  }
  return undefined;
}

function parseSample(line: string, where: string): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`${where}: no metric name`);
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest);
      if (!label?.[1]) throw new Error(`${where}: bad label at '${rest}'`);
      if (!LABEL_NAME.test(label[1])) throw new Error(`${where}: bad label name '${label[1]}'`);
      rest = rest.slice(label[0].length);
      let value = '';
      for (;;) {
        const c = rest[0];
        if (c === undefined) throw new Error(`${where}: unterminated label value`);
        rest = rest.slice(1);
        if (c === '"') break;
        if (c === '\n') throw new Error(`${where}: raw newline in a label value`);
        if (c === '\\') {
          const e = rest[0];
          rest = rest.slice(1);
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`${where}: bad escape \\${e}`);
        } else value += c;
      }
      if (label[1] in labels) throw new Error(`${where}: label ${label[1]} twice`);
      labels[label[1]] = value;
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error(`${where}: expected , or } at '${rest}'`);
    }
  }
  const parts = rest.trim().split(/\s+/);
  if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2)
    throw new Error(`${where}: expected ' value [timestamp]' after the labels`);
  const value = parseValue(parts[0] as string, where);
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp '${parts[1]}'`);
  return { name, labels, value };
}

/** Parses a scrape; throws naming the line on anything the format does not allow. */
export function parseMetrics(text: string): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const closed = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a newline');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!meta) return; // plain comment
      const [, kind, name, arg = ''] = meta as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name '${name}'`);
      if (closed.has(name)) throw new Error(`${where}: ${name} appears in two places`);
      let family = families.get(name);
      if (!family) {
        family = { name, type: 'untyped', samples: [] };
        families.set(name, family);
      }
      if (current && current !== family) closed.add(current.name);
      current = family;
      if (kind === 'TYPE') {
        if (family.samples.length > 0) throw new Error(`${where}: TYPE of ${name} after its samples`);
        if (!TYPES.has(arg as MetricType)) throw new Error(`${where}: unknown type '${arg}'`);
        family.type = arg as MetricType;
      } else {
        family.help = arg;
      }
      return;
    }
    const sample = parseSample(line, where);
    let family = familyOf(sample.name, families);
    if (!family) {
      family = { name: sample.name, type: 'untyped', samples: [] };
      families.set(sample.name, family);
    }
    if (closed.has(family.name)) throw new Error(`${where}: samples of ${family.name} are not together`);
    if (current && current !== family) closed.add(current.name);
    current = family;
    if (family.type === 'histogram') {
      if (sample.name === `${family.name}_bucket` && !('le' in sample.labels))
        throw new Error(`${where}: histogram bucket without le`);
      if (sample.name === family.name) throw new Error(`${where}: histogram sample without a suffix`);
    }
    if (family.type === 'counter' && sample.value < 0) throw new Error(`${where}: negative counter`);
    family.samples.push(sample);
  });
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const inf = f.samples.filter((s) => s.name === `${f.name}_bucket` && s.labels.le === '+Inf').length;
    const counts = f.samples.filter((s) => s.name === `${f.name}_count`).length;
    if (inf !== counts) throw new Error(`${f.name}: every histogram series needs a +Inf bucket and a _count`);
  }
  return [...families.values()];
}

/** Sum of the samples of series `name` whose labels include `labels`; 0 when there are none. */
export function sampleValue(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const f of families)
    for (const s of f.samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
  return total;
}

/** Every series name a scrape offers (histograms with their _bucket, _sum and _count series). */
export function seriesNames(families: MetricFamily[]): Set<string> {
  const names = new Set<string>();
  for (const f of families) {
    names.add(f.name);
    for (const s of f.samples) names.add(s.name);
    if (f.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(f.name + s);
    if (f.type === 'summary') for (const s of ['_sum', '_count']) names.add(f.name + s);
  }
  return names;
}
