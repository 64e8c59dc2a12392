// The interpreter's own steps: approval (a Temporal Update), sleep (a durable timer) and escalate
// (control flow). No activity: src/workflows/incident.ts carries them out.
import { defineSteps } from './definition';

export const CONTROL_STEPS = defineSteps({
  approval: {
    description: 'Wait for operators to approve before going on.',
    params: {
      approvers: { kind: 'string-list', description: 'Identities who may approve.' },
      groups: {
        kind: 'string-list',
        description: 'Groups (approvals.groups setting) whose members may approve.',
      },
      minApprovers: { kind: 'integer', minimum: 1, description: 'Distinct approvals needed (default 1).' },
      allowSelfApproval: {
        kind: 'boolean',
        description: 'May whoever triggered the incident approve (default false).',
      },
      prompt: { kind: 'string', description: 'What the approvers are asked.' },
      timeout: { kind: 'duration', description: 'How long to wait (default 30m).' },
      onTimeout: {
        kind: 'string',
        allowed: ['escalate', 'reject', 'proceed'],
        description: 'What happens when nobody decides in time: escalate (default), reject or proceed.',
      },
      reminders: {
        kind: 'reminders',
        description: 'Reminders while waiting: [{ after: 5m, channel: slack|email, to?: ... }].',
      },
    },
    // A dry run does not wait: it records whom it would have asked.
    dryRun: 'reports',
  },
  sleep: {
    description: 'Wait for a duration.',
    params: { duration: { kind: 'duration', required: true, description: 'How long to wait, e.g. 30s.' } },
    dryRun: 'runs',
  },
  escalate: {
    description: 'Mark the incident escalated and jump to the escalate phase.',
    params: { reason: { kind: 'string', required: true, description: 'Why the incident is escalated.' } },
    dryRun: 'runs',
  },
});
