// Typed search attributes kept current on every incident, so incidents can be found in the
// Temporal Web UI and by `rebound incidents list`.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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
