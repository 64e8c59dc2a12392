// Workflow time. Inside Temporal's sandbox Date is replaced by a deterministic clock that reads the
// current workflow task's time, so this is replay-safe; the lint rule against `new Date()` exists
// for code outside this one place.

export function nowMs(): number {
  // eslint-disable-next-line no-restricted-properties -- the sandbox's Date.now() is workflow time
  return Date.now();
}

export function nowIso(): string {
  return new Date(nowMs()).toISOString();
}
