// What a mutating step acts on, named as resources the safety guards lock and count, and which
// earlier checks its condition reads (to re-run them just before acting). Pure functions.
import type { Step } from '../runbook-lang/types';

export type TargetSelection =
  { ok: true; resources: string[]; containers: string[] } | { ok: false; type: string; message: string };

function names(value: unknown): string[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.map((v) => (typeof v === 'string' ? v.trim() : ''));
}

/** The resources a mutating step would touch; an empty or over-wide selection is refused here, before acting. */
export function mutationTargets(step: Step, params: Record<string, unknown>): TargetSelection {
  const host = step.host ?? 'local';
  let containers: string[] = [];
  let resources: string[];
  switch (step.type) {
    case 'container.restart':
    case 'container.start':
    case 'container.stop':
      containers = names(params.container);
      resources = containers.map((c) => (c ? `docker:${host}/${c}` : ''));
      break;
    case 'container.failover':
      resources = names([params.primary, params.standby]).map((c) => (c ? `docker:${host}/${c}` : ''));
      break;
    case 'http.call': {
      const match = typeof params.url === 'string' ? /^(https?:\/\/[^/?#]+)/i.exec(params.url.trim()) : null;
      resources = [match?.[1] ? `http:${match[1].toLowerCase()}` : ''];
      break;
    }
    default:
      resources = [];
  }
  if (resources.length === 0 || resources.some((r) => r === '')) {
    return {
      ok: false,
      type: 'NoTarget',
      message: `${step.id} selects no target (an empty name or list); an empty selection never means "everything", so nothing was done`,
    };
  }
  const maxTargets =
    typeof params.maxTargets === 'number' && params.maxTargets >= 1
      ? params.maxTargets
      : step.type === 'container.failover'
        ? 2
        : 1;
  const unique = [...new Set(resources)];
  if (unique.length > maxTargets) {
    const shown = unique.slice(0, 5).join(', ') + (unique.length > 5 ? ', …' : '');
    return {
      ok: false,
      type: 'TooManyTargets',
      message: `${step.id} would touch ${unique.length} targets (${shown}), more than maxTargets ${maxTargets}; nothing was done`,
    };
  }
  return { ok: true, resources: unique, containers };
}

/** Ids of steps a condition reads: steps.id, steps["id"] and steps['id']. */
export function referencedSteps(condition: string | undefined): string[] {
  if (!condition) return [];
  const ids = new Set<string>();
  for (const match of condition.matchAll(
    /steps\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])/g,
  )) {
    const id = match[1] ?? match[2];
    if (id) ids.add(id);
  }
  return [...ids];
}

/** Step types that only look: safe to run again right before a mutating step. */
export const CHECK_STEP_TYPES: readonly string[] = [
  'container.inspect',
  'probe.http',
  'probe.tcp',
  'prometheus.query',
];
