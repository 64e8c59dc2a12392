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
