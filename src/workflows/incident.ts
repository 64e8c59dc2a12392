// PLACEHOLDER — the runbook interpreter replaces this.
import type { IncidentInput } from './contract';

export async function incident(input: IncidentInput): Promise<string> {
  return Promise.resolve(input.incidentId);
}
