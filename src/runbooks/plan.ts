// What an incident would do for an alert, without running anything: `rebound runbooks plan`.
// Parameters and conditions are resolved as far as the alert allows; whatever depends on earlier
// steps' results or on the incident's state at run time is shown unresolved, with its expression.
import { defaultOnFailure } from '../runbook-lang/types';
import {
  evaluateCondition,
  expressionReferences,
  renderTemplatesPartially,
  renderVariables,
} from '../runbook-lang/expressions';
import { formatMatcher, matchesAll } from '../runbook-lang/matchers';
import { makeScope, type ScopeAlert } from '../runbook-lang/scope';
import {
  MUTATING_STEP_TYPES,
  type Duration,
  type OnFailure,
  type RetrySpec,
  type RunbookSnapshot,
} from '../runbook-lang/types';
import { incidentWorkflowId } from '../workflows/contract';
import { targetKey } from './catalog';

export type ConditionOutcome =
  { result: true | false } | { result: 'unresolved'; reason: string } | { result: 'error'; error: string };

export interface PlannedStep {
  id: string;
  phase: string;
  type: string;
  description?: string;
  mutating: boolean;
  host?: string;
  when?: { expression: string } & ConditionOutcome;
  /** Parameters with every template resolvable now rendered. */
  params?: unknown;
  /** Template expressions left unresolved (they read earlier steps' results). */
  unresolved: string[];
  error?: string;
  timeout: Duration;
  retry: RetrySpec;
  onFailure: OnFailure;
}

export interface Plan {
  runbook: string;
  source: string;
  hash: string;
  alert: { labels: Record<string, string>; fingerprint: string; status: string };
  /** Whether the runbook's matchers fit the alert's labels. */
  matches: boolean;
  matchers: string[];
  target?: string;
  workflowId?: string;
  variables?: Record<string, unknown>;
  /** Why target or variables could not be rendered. */
  error?: string;
  steps: PlannedStep[];
}

// Conditions reading these change while the incident runs; a plan cannot know their value.
const RUNTIME_ROOTS = ['steps', 'incident'];

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The plan of snapshot's runbook for one alert. */
export function planIncident(snapshot: RunbookSnapshot, alert: ScopeAlert): Plan {
  const { runbook } = snapshot;
  const plan: Plan = {
    runbook: runbook.name,
    source: snapshot.source,
    hash: snapshot.hash,
    alert: { labels: alert.labels, fingerprint: alert.fingerprint, status: alert.status },
    matches: matchesAll(runbook.matchers, alert.labels),
    matchers: runbook.matchers.map(formatMatcher),
    steps: [],
  };
  const steps: PlannedStep[] = [];
  const scope = makeScope({ alert, incident: { runbook: runbook.name } });
  try {
    plan.variables = renderVariables(runbook.variables, scope);
    scope.vars = plan.variables;
    plan.target = targetKey(runbook, alert);
    plan.workflowId = incidentWorkflowId(runbook.name, plan.target);
    scope.incident.target = plan.target;
    scope.incident.id = plan.workflowId;
  } catch (error) {
    plan.error = message(error);
  }
  for (const step of runbook.steps) {
    const planned: PlannedStep = {
      id: step.id,
      phase: step.phase,
      type: step.type,
      mutating: MUTATING_STEP_TYPES.includes(step.type),
      unresolved: [],
      timeout: step.timeout ?? runbook.defaults.timeout,
      retry: { ...runbook.defaults.retry, ...step.retry },
      onFailure: step.onFailure ?? defaultOnFailure(step.phase),
    };
    if (step.description !== undefined) planned.description = step.description;
    if (step.host !== undefined) planned.host = step.host;
    if (step.when !== undefined)
      planned.when = { expression: step.when, ...planCondition(step.when, scope, plan.error) };
    if (plan.error === undefined) {
      try {
        const rendered = renderTemplatesPartially(step.with, scope);
        planned.params = rendered.value;
        planned.unresolved = rendered.unresolved;
      } catch (error) {
        planned.error = message(error);
      }
    } else planned.params = step.with;
    steps.push(planned);
  }
  // Steps last, so the JSON reads top-down: alert, target, workflow id, then the steps.
  const { steps: _placeholder, ...head } = plan;
  return { ...head, steps };
}

function planCondition(
  expression: string,
  scope: ReturnType<typeof makeScope>,
  setupError: string | undefined,
): ConditionOutcome {
  const runtime = [...expressionReferences(expression)].filter((name) => RUNTIME_ROOTS.includes(name));
  if (runtime.length > 0)
    return { result: 'unresolved', reason: `reads ${runtime.join(' and ')} at run time` };
  if (setupError !== undefined) return { result: 'unresolved', reason: 'variables could not be rendered' };
  try {
    return { result: evaluateCondition(expression, scope) };
  } catch (error) {
    return { result: 'error', error: message(error) };
  }
}

function labelsText(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

function conditionText(when: PlannedStep['when']): string {
  if (!when) return 'always';
  switch (when.result) {
    case true:
      return `when ${when.expression} → true`;
    case false:
      return `when ${when.expression} → false: skipped`;
    case 'unresolved':
      return `when ${when.expression} → decided at run time (${when.reason})`;
    case 'error':
      return `when ${when.expression} → error: ${when.error}`;
  }
}

/** The plan as text for a terminal. */
export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  lines.push(`Runbook   ${plan.runbook} (${plan.source}, sha256 ${plan.hash.slice(0, 12)})`);
  lines.push(
    `Alert     ${plan.alert.status} ${labelsText(plan.alert.labels)} fingerprint ${plan.alert.fingerprint}`,
  );
  lines.push(`Matches   ${plan.matches ? 'yes' : `NO: the alert does not fit ${plan.matchers.join(', ')}`}`);
  if (plan.error !== undefined) lines.push(`Error     ${plan.error}`);
  if (plan.target !== undefined) lines.push(`Target    ${plan.target}`);
  if (plan.workflowId !== undefined) lines.push(`Workflow  ${plan.workflowId}`);
  if (plan.variables && Object.keys(plan.variables).length > 0) {
    lines.push('Variables');
    for (const [name, value] of Object.entries(plan.variables))
      lines.push(`  ${name} = ${JSON.stringify(value)}`);
  }
  lines.push('Steps');
  plan.steps.forEach((step, index) => {
    const flags = [step.mutating ? 'mutating' : '', step.host ? `host ${step.host}` : '']
      .filter(Boolean)
      .join(', ');
    lines.push(`  ${index + 1}. [${step.phase}] ${step.id}: ${step.type}${flags ? ` (${flags})` : ''}`);
    if (step.description) lines.push(`       ${step.description}`);
    lines.push(`       ${conditionText(step.when)}`);
    if (step.error !== undefined) lines.push(`       error: ${step.error}`);
    else if (step.params !== undefined && Object.keys(step.params as object).length > 0)
      lines.push(`       with ${JSON.stringify(step.params)}`);
    for (const expression of step.unresolved)
      lines.push(`       unresolved until run time: {{ ${expression} }}`);
    const onFailure = typeof step.onFailure === 'string' ? step.onFailure : `goto ${step.onFailure.goto}`;
    lines.push(
      `       timeout ${String(step.timeout)}, attempts ${String(step.retry.maximumAttempts)}, on failure ${onFailure}`,
    );
  });
  return lines.join('\n');
}
