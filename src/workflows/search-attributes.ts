// Typed search attributes kept current on every incident, so incidents can be found in the
// Temporal Web UI and by `rebound incidents list`.
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

export const SA_RUNBOOK = defineSearchAttributeKey('ReboundRunbook', SearchAttributeType.KEYWORD);
export const SA_TARGET = defineSearchAttributeKey('ReboundTarget', SearchAttributeType.KEYWORD);
export const SA_ALERTNAME = defineSearchAttributeKey('ReboundAlertName', SearchAttributeType.KEYWORD);
export const SA_SEVERITY = defineSearchAttributeKey('ReboundSeverity', SearchAttributeType.KEYWORD);
export const SA_PHASE = defineSearchAttributeKey('ReboundPhase', SearchAttributeType.KEYWORD);
export const SA_STATUS = defineSearchAttributeKey('ReboundStatus', SearchAttributeType.KEYWORD);
export const SA_DRY_RUN = defineSearchAttributeKey('ReboundDryRun', SearchAttributeType.BOOL);

/** Name and Temporal CLI type of each, for registering them on a server. */
export const SEARCH_ATTRIBUTES: ReadonlyArray<readonly [string, string]> = [
  [SA_RUNBOOK.name, 'Keyword'],
  [SA_TARGET.name, 'Keyword'],
  [SA_ALERTNAME.name, 'Keyword'],
  [SA_SEVERITY.name, 'Keyword'],
  [SA_PHASE.name, 'Keyword'],
  [SA_STATUS.name, 'Keyword'],
  [SA_DRY_RUN.name, 'Bool'],
];

/** What identifies an incident in search: set once, when it starts. */
export interface IncidentIdentity {
  runbook: string;
  targetKey: string;
  labels: Readonly<Record<string, string>>;
  dryRun: boolean;
}

/**
 * The identifying attributes, in one place for the receiver (which sets them at signal-with-start)
 * and the workflow (which upserts them when it starts). `fit` shortens text to what the server
 * accepts; the default keeps it whole.
 */
export function identityAttributes(
  incident: IncidentIdentity,
  fit: (text: string) => string = (text) => text,
): SearchAttributePair[] {
  return [
    { key: SA_RUNBOOK, value: fit(incident.runbook) },
    { key: SA_TARGET, value: fit(incident.targetKey) },
    { key: SA_ALERTNAME, value: fit(incident.labels.alertname ?? '') },
    { key: SA_SEVERITY, value: fit(incident.labels.severity ?? '') },
    { key: SA_DRY_RUN, value: incident.dryRun },
  ];
}

/** Where an incident is: kept current as it moves. */
export function progressAttributes(phase: string, status: string): SearchAttributePair[] {
  return [
    { key: SA_PHASE, value: phase },
    { key: SA_STATUS, value: status },
  ];
}
