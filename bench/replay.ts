import type { BenchContext } from './common';
export async function replayBench(_ctx: BenchContext): Promise<void> {}
