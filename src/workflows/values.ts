// Small helpers on plain values shared by the workflows, activities, receiver, audit and CLI.
// Workflow-safe (no Node built-ins, no I/O), so the interpreter and everything outside it use the
// same ones.
import type { AlertNotification } from './contract';

/** A plain object (not null, not an array): what parsed JSON or YAML maps are. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** An error's message, or the thrown value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An alert's labels in one line: `alertname {k=v, …}`. Not escaped: callers escape for their output. */
export function describeLabels(labels: Record<string, string>): string {
  const name = labels.alertname ?? 'alert';
  const rest = Object.entries(labels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${name} {${rest}}`;
}

/** A notification's alert in one line, with its status: `alertname {k=v, …} firing`. */
export function describeAlert(n: AlertNotification): string {
  return `${describeLabels(n.alert.labels)} ${n.alert.status}`;
}
