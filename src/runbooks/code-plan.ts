// `rebound runbooks plan` for a code runbook: what can be known before it runs. Its metadata, whether
// the alert matches, the target and workflow id it would get, and the steps its source names (found
// statically). Which of those steps run, how often, in what order and with what parameters the
// procedure decides at run time from what the steps return: the plan says so instead of guessing.
import { formatMatcher, matchesAll } from '../runbook-lang/matchers';
import type { ScopeAlert } from '../runbook-lang/scope';
import { MUTATING_STEP_TYPES, type RunbookSnapshot, type StepType } from '../runbook-lang/types';
import { stepDefinition } from '../steps/registry';
import { incidentWorkflowId } from '../workflows/contract';
import { targetKey } from './catalog';
import { referencedSteps } from './code-lint';

export const CODE_PLAN_UNKNOWN =
  'which of these steps run, how often, in what order and with what parameters: the procedure decides at run time from the alert and from what each step returns';

export interface CodePlan {
  runbook: string;
  kind: 'code';
  source: string;
  hash: string;
  description: string;
  alert: { labels: Record<string, string>; fingerprint: string; status: string };
  matches: boolean;
  matchers: string[];
  target?: string;
  workflowId?: string;
  error?: string;
  defaults: { timeout: string; maximumAttempts: number; holdOpen: string; onResolvedBeforeAction: string };
  /** Steps named in the source, in source order (not run, not ordered by execution). */
  referencedSteps: Array<{ line: number; type: string; id?: string; mutating: boolean; known: boolean }>;
  /** What cannot be known before it runs. */
  unknown: string;
}

/** The plan of a code runbook for one alert; `text` is the runbook file's source. */
export function planCodeRunbook(snapshot: RunbookSnapshot, text: string, alert: ScopeAlert): CodePlan {
  const { runbook } = snapshot;
  const plan: CodePlan = {
    runbook: runbook.name,
    kind: 'code',
    source: snapshot.source,
    hash: snapshot.hash,
    description: runbook.description,
    alert: { labels: alert.labels, fingerprint: alert.fingerprint, status: alert.status },
    matches: matchesAll(runbook.matchers, alert.labels),
    matchers: runbook.matchers.map(formatMatcher),
    defaults: {
      timeout: String(runbook.defaults.timeout),
      maximumAttempts: runbook.defaults.retry.maximumAttempts ?? 3,
      holdOpen: String(runbook.holdOpen),
      onResolvedBeforeAction: runbook.onResolvedBeforeAction,
    },
    referencedSteps: referencedSteps(text, snapshot.source).map((s) => ({
      ...s,
      mutating: MUTATING_STEP_TYPES.includes(s.type as StepType),
      known: stepDefinition(s.type) !== undefined,
    })),
    unknown: CODE_PLAN_UNKNOWN,
  };
  try {
    plan.target = targetKey(runbook, { ...alert, annotations: alert.annotations });
    plan.workflowId = incidentWorkflowId(runbook.name, plan.target);
  } catch (error) {
    plan.error = error instanceof Error ? error.message : String(error);
  }
  return plan;
}

export function formatCodePlan(plan: CodePlan): string {
  const lines: string[] = [];
  lines.push(`Runbook   ${plan.runbook} (code: ${plan.source}, sha256 ${plan.hash.slice(0, 12)})`);
  if (plan.description) lines.push(`          ${plan.description}`);
  lines.push(
    `Alert     ${plan.alert.status} ${JSON.stringify(plan.alert.labels)} fingerprint ${plan.alert.fingerprint}`,
  );
  lines.push(`Matches   ${plan.matches ? 'yes' : `NO: the alert does not fit ${plan.matchers.join(', ')}`}`);
  if (plan.error !== undefined) lines.push(`Error     ${plan.error}`);
  if (plan.target !== undefined) lines.push(`Target    ${plan.target}`);
  if (plan.workflowId !== undefined) lines.push(`Workflow  ${plan.workflowId}`);
  lines.push(
    `Defaults  timeout ${plan.defaults.timeout}, attempts ${plan.defaults.maximumAttempts}, hold open ${plan.defaults.holdOpen}, resolved before action: ${plan.defaults.onResolvedBeforeAction}`,
  );
  lines.push('Steps named in the source (found without running it; in source order)');
  for (const s of plan.referencedSteps) {
    const flags = [s.mutating ? 'mutating: guards apply' : '', s.known ? '' : 'NOT A STEP TYPE']
      .filter(Boolean)
      .join(', ');
    lines.push(`  line ${s.line}: ${s.type}${s.id ? ` id ${s.id}` : ''}${flags ? ` (${flags})` : ''}`);
  }
  if (plan.referencedSteps.length === 0) lines.push('  none found');
  lines.push(`Not known before it runs: ${plan.unknown}.`);
  return lines.join('\n');
}
