// The notify step: a Slack message or an email (src/activities/slack.ts, email.ts). It tells people, so
// it runs in a dry run too; without `to` it goes where the runbook's notifications go.
import { defineSteps } from './definition';

export const NOTIFY_STEPS = defineSteps({
  notify: {
    description: 'Send a Slack message or an email.',
    params: {
      channel: {
        kind: 'string',
        required: true,
        allowed: ['slack', 'email'],
        description: 'slack or email.',
      },
      to: {
        kind: 'string-or-list',
        description: 'Slack channel, or email addresses (default: the runbook notifications).',
      },
      subject: { kind: 'string', description: 'Email subject.' },
      text: { kind: 'string', required: true, description: 'Message text; templates allowed.' },
    },
    activity: 'notify',
    dryRun: 'runs',
    summary: () => 'sent',
  },
});
