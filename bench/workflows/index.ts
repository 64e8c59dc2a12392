// The benchmarks' own workflows, in one bundle: the empty baseline and the hand-written runbook.
export { baseline } from './baseline';
export { handWritten } from './hand-written';
