import type { BenchContext } from './common';
export async function scaleBench(_ctx: BenchContext): Promise<void> {}
