// The checks `rebound doctor` runs, one file per family beside this one: each looks at one thing
// Rebound depends on, within a few seconds, and says ok, warning or problem with the fix in one line.
// `rebound doctor` loads this module only when it runs (it brings the Docker, mail and Slack clients).
export {
  CHECK_TIMEOUT_MS,
  why,
  withoutCredentials,
  type CheckResult,
  type CheckStatus,
} from './check-result';
export { checkRunbooks, runbookNeeds, type RunbookNeeds } from './runbook-checks';
export { checkTemporal } from './temporal-checks';
export { checkWebhook } from './webhook-checks';
export { checkDocker } from './docker-check';
export { checkSlack } from './slack-checks';
export { checkSmtp } from './smtp-check';
export { checkPrometheus } from './prometheus-check';
