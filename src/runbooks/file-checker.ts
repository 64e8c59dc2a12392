// Where a runbook problem is: the YAML file read with positions, so every problem carries the line and
// column of the offending key or value, and paths as an author reads them (step "restart".retry).
// Also the "did you mean" hint for typos. Used by the schema and semantic checks of validate.ts.
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { isObject } from '../workflows/values';

export interface RunbookProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export type PathSegment = string | number;

/** Edit distance, for "did you mean" hints on typos. */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3))
    ? ` (did you mean "${best}"?)`
    : '';
}

export class FileChecker {
  readonly problems: RunbookProblem[] = [];
  private readonly lines = new LineCounter();
  readonly doc: Document;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: true });
    for (const error of this.doc.errors) {
      const at = error.linePos?.[0] ?? { line: 1, col: 1 };
      this.problems.push({
        file,
        line: at.line,
        column: at.col,
        message: `YAML: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      });
    }
  }

  private position(offset: number | undefined): { line: number; column: number } {
    if (offset === undefined) return { line: 1, column: 1 };
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** The YAML node at a path, or the nearest existing ancestor. */
  private nodeAt(path: readonly PathSegment[]): Node | undefined {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, depth), true);
      if (node && typeof node === 'object' && 'range' in node) return node as Node;
    }
    return undefined;
  }

  /** The key node of the last path segment, when the parent is a mapping. */
  private keyAt(path: readonly PathSegment[]): Node | undefined {
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    const last = path[path.length - 1];
    if (!isMap(parent)) return undefined;
    for (const pair of parent.items) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.value === last) return pair.key;
    }
    return undefined;
  }

  /** Reports a problem at the value of path (or at its key with at='key'). */
  report(path: readonly PathSegment[], message: string, at: 'value' | 'key' = 'value'): void {
    const node = at === 'key' ? (this.keyAt(path) ?? this.nodeAt(path)) : this.nodeAt(path);
    const { line, column } = this.position(node?.range?.[0]);
    this.problems.push({ file: this.file, line, column, message });
  }

  lineOf(path: readonly PathSegment[]): number {
    return this.position(this.nodeAt(path)?.range?.[0]).line;
  }
}

export function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
}

/** A path as the author reads it: steps[2] (id "restart").retry. */
export function describePath(path: readonly PathSegment[], data: unknown): string {
  if (path.length === 0) return 'the runbook';
  let out = '';
  let node: unknown = data;
  for (const seg of path) {
    if (typeof seg === 'number') {
      out += `[${seg}]`;
      node = Array.isArray(node) ? node[seg] : undefined;
      const id = isObject(node) && typeof node.id === 'string' ? node.id : undefined;
      if (id !== undefined && path[0] === 'steps' && out === `steps[${seg}]`) out = `step "${id}"`;
    } else {
      out += out === '' ? seg : out.endsWith('"') ? ` ${seg}` : `.${seg}`;
      node = isObject(node) ? node[seg] : undefined;
    }
  }
  return out;
}

export function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let node = data;
  for (const seg of path) {
    if (typeof seg === 'number') node = Array.isArray(node) ? node[seg] : undefined;
    else node = isObject(node) ? node[seg] : undefined;
  }
  return node;
}
