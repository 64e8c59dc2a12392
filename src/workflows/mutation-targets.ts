// What a mutating step acts on, named as resources the safety guards lock and count, and which
// earlier checks its condition reads (to re-run them just before acting). Pure functions. The targets
// and the checks come from the step definitions (src/steps/).
export { CHECK_STEP_TYPES, mutationTargets, type TargetSelection } from '../steps/registry';

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
