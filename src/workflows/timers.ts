// The incident workflow's own waits (those not set by a runbook step), named so that the audit can
// say what a timer in a history waited for by its duration without guessing: the workflow starts
// these timers with exactly these durations. Workflow-safe: no imports.

/** An incident started without its first alert notification waits this long for it, then fails. */
export const FIRST_NOTIFICATION_WAIT_MS = 60_000;

/** An escalated incident holds open in waits of this length until the alert resolves or a human closes it. */
export const ESCALATED_HOLD_WAIT_MS = 3_600_000;
