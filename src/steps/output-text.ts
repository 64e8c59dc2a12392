// Reading an activity's output for the words a person sees (step summaries): a field as text, or a
// fallback when the field is missing or not text. Deterministic; the step family files use it.

/** The value as an object to read fields from; `{}` for anything else. */
export function outputRecord(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** A string or number field as text; the fallback for anything else. */
export function text(value: unknown, fallback: string): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : fallback;
}
