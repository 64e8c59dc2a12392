// The per-target budget policy as configured: shared by the guard activities that enforce it and
// `rebound status` (the guards), which shows it, so the CLI need not load activity code to read configuration.
import type { Config } from './config';
import type { BudgetPolicy } from './workflows/guard-contract';

export function budgetPolicy(config: Config): BudgetPolicy {
  const s = config.safety;
  return {
    max: s.budgetMax,
    windowMs: s.budgetWindow,
    backoffMs: s.backoff,
    backoffCoefficient: s.backoffCoefficient,
    maxBackoffMs: s.maxBackoff,
  };
}
