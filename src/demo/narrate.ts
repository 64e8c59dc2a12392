// Follows a live incident through its state query and tells a person what happens, as it happens:
// each timeline entry once, with what a finished step found (container state, probe answer, why a
// message was not sent; each step family's `summary` in src/steps/). Used by `rebound demo`; plain
// text, control characters removed.
import type { WorkflowHandle } from '@temporalio/client';
import type { IncidentState, StepRecord, TimelineEntry } from '../workflows/contract';
import { stateQuery } from '../workflows/contract';
import { outputRecord } from '../steps/output-text';
import { stepDefinition } from '../steps/registry';
import { escapeControls } from '../terminal-text';

/** What a finished step found, in a few words; undefined when there is nothing worth adding. */
export function describeStep(step: StepRecord): string | undefined {
  if (step.status === 'failed' && step.error) {
    if (step.error.type === 'NotConfigured') return `skipped: ${step.error.message}`;
    return `failed: ${step.error.message}`;
  }
  if (step.status !== 'succeeded') return undefined;
  if (step.note) return step.note;
  // Each step family says what its steps found (src/steps/*, `summary`).
  return stepDefinition(step.type)?.summary?.(outputRecord(step.output));
}

export interface NarrationLine {
  kind: string;
  text: string;
}

/** The lines one timeline entry becomes, given the state it was read from. */
export function narrateEntry(entry: TimelineEntry, state: IncidentState): NarrationLine[] {
  const message = escapeControls(entry.message);
  const finished = /^(\S+) (succeeded|failed)\b/.exec(message);
  if (entry.kind === 'step' && finished) {
    const step = state.steps.find((s) => s.id === finished[1]);
    const detail = step ? describeStep(step) : undefined;
    return [{ kind: 'step', text: `${finished[1]}: ${detail ? escapeControls(detail) : finished[2]}` }];
  }
  if (entry.kind === 'step' && / started$/.test(message)) return [];
  if (entry.kind === 'phase') return [{ kind: 'phase', text: message.replace(/^phase /, '— ') + ' —' }];
  if (entry.kind === 'alert' && message.startsWith('opened by'))
    return [{ kind: 'alert', text: `incident opened: ${state.incidentId} (runbook ${state.runbook})` }];
  if (entry.kind === 'safety' || entry.kind === 'lock') return [{ kind: 'guard', text: `guard: ${message}` }];
  const unconfigured = /not updated: NotConfigured: (.*)$/.exec(message);
  if (entry.kind === 'message' && unconfigured)
    return [{ kind: 'message', text: `no incident message: ${unconfigured[1]}` }];
  if (entry.kind === 'outcome') return [{ kind: 'outcome', text: `incident ${message}` }];
  return [{ kind: entry.kind, text: message }];
}

export interface FollowOptions {
  /** Called with each line to print. */
  say(line: NarrationLine): void;
  /** Called once when the incident has acted and holds, waiting for its alert to resolve. */
  onHolding?(state: IncidentState): Promise<void>;
  /** Gives up after this long. */
  timeoutMs: number;
  pollMs?: number;
}

/** Narrates the incident until it closes (resolved, escalated or failed); returns its last state. */
export async function followIncident(
  handle: WorkflowHandle,
  options: FollowOptions,
): Promise<{ state?: IncidentState; timedOut: boolean }> {
  const deadline = Date.now() + options.timeoutMs;
  // The timeline keeps its last 500 entries; a demo incident has a few dozen.
  let seen = 0;
  const said = new Set<string>();
  let holding = false;
  let last: IncidentState | undefined;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(stateQuery);
    } catch {
      // Not started yet, or the worker is busy: ask again.
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 300));
      continue;
    }
    for (const entry of last.timeline.slice(seen)) {
      for (const line of narrateEntry(entry, last)) {
        // The incident message is updated after every step: say once that Slack is not set up, not each time.
        if (line.kind === 'message' && said.has(line.text)) continue;
        said.add(line.text);
        options.say(line);
      }
      if (entry.kind === 'hold' && last.status === 'open' && !holding) {
        holding = true;
        await options.onHolding?.(last);
      }
    }
    seen = last.timeline.length;
    // Escalated is final for a demo: a human would have to act.
    if (last.status !== 'open') return { state: last, timedOut: false };
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 300));
  }
  return { ...(last ? { state: last } : {}), timedOut: true };
}
