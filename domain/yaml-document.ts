/**
 * Reading a YAML (or JSON) configuration file with positions, shared by the rules file and the
 * sources config: parse errors and validation issues point at `file:line:column`.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

export interface YamlIssue extends Position {
  file: string;
  path: string;
  message: string;
}

export type ReadYamlResult =
  | { ok: true; data: unknown; doc: Document; at: (offset: number | undefined) => Position }
  | { ok: false; issues: YamlIssue[] };

/** Parses the text; a syntax error or an empty file is an issue at its position. */
export function readYaml(text: string, fileName: string): ReadYamlResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const at = (offset: number | undefined): Position => {
    const p = lineCounter.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        file: fileName,
        ...(e.linePos ? { line: e.linePos[0].line, column: e.linePos[0].col } : at(e.pos[0])),
        path: '',
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      })),
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    return { ok: false, issues: [{ file: fileName, line: 1, column: 1, path: '', message: 'the file is empty' }] };
  }
  return { ok: true, data, doc, at };
}

export function keyOf(k: unknown): unknown {
  return isScalar(k) ? k.value : k;
}

export interface Located {
  /** The value at the deepest path segment found. */
  node: Node | undefined;
  /** Where to point: the key of a map entry (as compilers point at a property), else the node. */
  at: Node | undefined;
  /** True when every path segment was found. */
  complete: boolean;
}

/** The node for `path` in the document, as deep as it exists. */
export function locate(root: Node | null | undefined, path: readonly PropertyKey[]): Located {
  let node: Node | undefined = root ?? undefined;
  let at: Node | undefined = node;
  for (const seg of path) {
    let next: Node | undefined;
    let nextAt: Node | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(keyOf(p.key)) === String(seg));
      next = (pair?.value as Node | null | undefined) ?? (pair?.key as Node | undefined);
      nextAt = (pair?.key as Node | undefined) ?? next;
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg] as Node | undefined;
      nextAt = next;
    }
    if (!next) return { node, at, complete: false };
    node = next;
    at = nextAt;
  }
  return { node, at, complete: true };
}

/** The key node of `key` in a map node. */
export function keyNode(map: Node | undefined, key: string): Node | undefined {
  if (!isMap(map)) return undefined;
  return map.items.find((p) => String(keyOf(p.key)) === key)?.key as Node | undefined;
}

/** zod's message without its generic prefix. */
export function cleanMessage(m: string): string {
  return m.replace(/^Invalid input: /, '');
}
