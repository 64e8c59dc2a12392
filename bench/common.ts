// Shared by the benchmarks: the dev server and client they run against, percentiles, bounded
// concurrency, tables and the JSON results. Benchmarks report; they never assert timings.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { workflowSource } from '../src/runbooks/code-bundle';

export interface BenchContext {
  address: string;
  client: Client;
  quick: boolean;
  /** Where this run writes its results (bench/results unless --out says otherwise). */
  outDir: string;
  /** Numbers after a flag, e.g. `--sizes 100,1000`: the scale benchmark's incident counts. */
  sizes?: number[];
  /** How the server keeps its state, for the report. */
  server: string;
  /** The real workflow bundle, built once for every benchmark. */
  bundle(): Promise<WorkflowBundleWithSourceMap>;
}

export interface Machine {
  cores: number;
  memoryGiB: number;
  cpu: string;
  node: string;
  platform: string;
}

export function machine(): Machine {
  return {
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

const silent = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

let realBundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/**
 * The workflow code as the worker bundles it for the project's runbooks/ (with its code runbooks, so
 * the recorded code runbook histories replay too).
 */
export function realWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  realBundle ??= bundleWorkflowCode({
    ...workflowSource(path.resolve(__dirname, '../runbooks')),
    logger: silent,
  });
  return realBundle;
}

export function bundleOf(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: silent });
}

/** The p-th percentile (0-100) of the values, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs task(i) for i in [0, count) with at most `concurrency` in flight. */
export async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, count) }, async () => {
    for (let i = next++; i < count; i = next++) await task(i);
  });
  await Promise.all(runners);
}

export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prints rows as an aligned table. */
export function table(title: string, rows: Array<Record<string, string | number>>): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0] as object);
  const text = (v: string | number | undefined): string => (v === undefined ? '' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => text(row[c]))));
}

/**
 * One number a run produces, under a name that stays the same from run to run, so `--compare` can
 * put it beside an earlier run's.
 */
export interface Figure {
  figure: string;
  value: number;
  unit: string;
  /** Which way is an improvement. */
  better: 'lower' | 'higher';
}

export const DEFAULT_RESULTS_DIR = path.join(__dirname, 'results');

export function writeResults(
  name: string,
  ctx: BenchContext,
  results: unknown,
  figures: Figure[] = [],
): string {
  const dir = ctx.outDir;
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        benchmark: name,
        at: new Date().toISOString(),
        machine: machine(),
        server: ctx.server,
        quick: ctx.quick,
        // The machine is often shared: the load when the benchmark finished, to read figures by.
        loadAverage: os.loadavg().map((l) => round(l, 2)),
        figures,
        results,
      },
      null,
      2,
    ) + '\n',
  );
  return file;
}
