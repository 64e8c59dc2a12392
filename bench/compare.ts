// `npm run bench -- --compare <old dir>`: each figure of a run beside an earlier run's, read from
// the JSON results the two runs wrote (bench/results, or the directory given to --out). Results
// written before figures were saved are read through each benchmark's own extractor.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { round, table, type Figure } from './common';

interface ResultsFile {
  benchmark: string;
  at: string;
  quick?: boolean;
  loadAverage?: number[];
  figures?: Figure[];
  results: unknown;
}

export type Extractor = (results: unknown) => Figure[];

function read(dir: string): Map<string, ResultsFile> {
  const files = new Map<string, ResultsFile>();
  if (!existsSync(dir)) throw new Error(`no results directory ${dir}`);
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const parsed = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as ResultsFile;
    if (typeof parsed.benchmark === 'string') files.set(parsed.benchmark, parsed);
  }
  return files;
}

function figuresOf(file: ResultsFile, extractors: Record<string, Extractor>): Figure[] {
  if (file.figures && file.figures.length > 0) return file.figures;
  try {
    return extractors[file.benchmark]?.(file.results) ?? [];
  } catch {
    return [];
  }
}

function show(value: number | undefined): string | number {
  return value === undefined || !Number.isFinite(value) ? '-' : value;
}

/** Prints, per benchmark, every figure of `newDir` beside the same figure in `oldDir`. */
export function compareRuns(
  oldDir: string,
  newDir: string,
  extractors: Record<string, Extractor>,
  only?: string[],
): void {
  const older = read(oldDir);
  const newer = read(newDir);
  const names = [...new Set([...newer.keys(), ...older.keys()])].filter(
    (n) => !only || only.length === 0 || only.includes(n),
  );
  console.log(`\n=== compare: ${oldDir} (old) -> ${newDir} (new) ===`);
  for (const name of names) {
    const o = older.get(name);
    const n = newer.get(name);
    const oldFigures = o ? figuresOf(o, extractors) : [];
    const newFigures = n ? figuresOf(n, extractors) : [];
    const byName = new Map(oldFigures.map((f) => [f.figure, f]));
    const seen = new Set<string>();
    const rows: Array<Record<string, string | number>> = [];
    for (const f of newFigures) {
      seen.add(f.figure);
      const before = byName.get(f.figure);
      const ratio = before && before.value !== 0 ? round(f.value / before.value, 2) : NaN;
      let verdict = '';
      if (Number.isFinite(ratio) && Math.abs(ratio - 1) >= 0.05)
        verdict = ratio < 1 === (f.better === 'lower') ? 'better' : 'worse';
      rows.push({
        figure: f.figure,
        unit: f.unit,
        old: show(before?.value),
        new: show(f.value),
        'new/old': show(ratio),
        '': verdict,
      });
    }
    for (const f of oldFigures)
      if (!seen.has(f.figure))
        rows.push({ figure: f.figure, unit: f.unit, old: show(f.value), new: '-', 'new/old': '-', '': '' });
    const when = (f: ResultsFile | undefined): string =>
      f
        ? `${f.at}${f.quick ? ' --quick' : ''}${f.loadAverage ? `, load ${f.loadAverage.join('/')}` : ''}`
        : 'absent';
    table(`${name}: old ${when(o)}; new ${when(n)}`, rows);
  }
  console.log(
    '\n(The machine may be shared: compare ratios measured within one run — Rebound / baseline — before absolute times.)',
  );
}
