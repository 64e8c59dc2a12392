// What conditions (`when`) and templates (`{{ ... }}`) can see: the alert, runbook variables, earlier
// steps' results and the incident itself. Nothing else is reachable from a runbook expression.

export interface StepView {
  status: string;
  output: unknown;
  error?: { type: string; message: string };
}

export interface ExpressionScope {
  alert: {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    fingerprint: string;
    generatorURL: string;
  };
  /** Shorthands for alert.labels and alert.annotations. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Runbook variables, themselves rendered once from templates at incident start. */
  vars: Record<string, unknown>;
  /** Earlier steps by id. */
  steps: Record<string, StepView>;
  incident: {
    id: string;
    target: string;
    runbook: string;
    escalated: boolean;
    dryRun: boolean;
    alertFiring: boolean;
  };
}

/** The alert fields a scope is built from (an AlertSnapshot fits). */
export type ScopeAlert = ExpressionScope['alert'];

/** A scope from its parts; missing parts are empty (before any step ran, before variables rendered). */
export function makeScope(parts: {
  alert: ScopeAlert;
  vars?: Record<string, unknown>;
  steps?: Record<string, StepView>;
  incident?: Partial<ExpressionScope['incident']>;
}): ExpressionScope {
  const { alert } = parts;
  return {
    alert: {
      status: alert.status,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt,
      fingerprint: alert.fingerprint,
      generatorURL: alert.generatorURL,
    },
    labels: alert.labels,
    annotations: alert.annotations,
    vars: parts.vars ?? {},
    steps: parts.steps ?? {},
    incident: {
      id: '',
      target: '',
      runbook: '',
      escalated: false,
      dryRun: false,
      alertFiring: alert.status === 'firing',
      ...parts.incident,
    },
  };
}
