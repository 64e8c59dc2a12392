// The Slack incident message, built in one place for the activity that posts it and the receiver that
// updates it after a button click: every piece of alert text is escaped before it reaches mrkdwn.
import type { KnownBlock } from '@slack/web-api';
import type { IncidentState, StepStatus } from '../workflows/contract';

/** Slack's limits on a section's text and on a message's fallback text, with a margin. */
export const SECTION_LIMIT = 2900;
export const TEXT_LIMIT = 3900;

/** Slack mrkdwn escaping: alert text can neither format links nor mention anyone. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts text to limit characters, marking the cut with an ellipsis. */
export function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

const STATUS_ICON: Record<StepStatus, string> = {
  pending: '⚪',
  running: '🔄',
  succeeded: '✅',
  failed: '❌',
  skipped: '⏭️',
  waiting: '⏸️',
};

const INCIDENT_ICON: Record<IncidentState['status'], string> = {
  open: '🔴',
  resolved: '✅',
  failed: '❌',
  escalated: '🚨',
};

function incidentLink(publicUrl: string | undefined, incidentId: string): string | undefined {
  if (!publicUrl) return undefined;
  return `${publicUrl.replace(/\/+$/, '')}/incidents/${encodeURIComponent(incidentId)}`;
}

/** The incident message: everything from the alert is escaped before it reaches mrkdwn. */
export function incidentBlocks(
  state: IncidentState,
  publicUrl?: string,
): { text: string; blocks: KnownBlock[] } {
  const e = escapeMrkdwn;
  const alertName = state.alert.labels.alertname ?? 'alert';
  const title = `${INCIDENT_ICON[state.status]} ${state.dryRun ? '[dry run] ' : ''}${alertName} — ${state.status}${state.resolution ? ` (${state.resolution})` : ''}`;
  const summary = state.alert.annotations.summary ?? state.alert.annotations.description ?? '';
  const fields = [
    `*Runbook*\n${e(state.runbook)}`,
    `*Target*\n${e(state.targetKey)}`,
    `*Phase*\n${e(state.phase)}${state.currentStep ? ` · ${e(state.currentStep)}` : ''}`,
    `*Alert*\n${state.alertFiring ? 'firing' : 'resolved'} (${state.notifications} notification${state.notifications === 1 ? '' : 's'})`,
  ];
  const steps = state.steps.map(
    (s) =>
      `${STATUS_ICON[s.status]} \`${e(s.id)}\` ${e(s.type)}${s.note ? ` — ${e(s.note)}` : ''}${s.error ? ` — ${e(s.error.message)}` : ''}`,
  );
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, 150), emoji: true } },
  ];
  if (summary)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(e(summary), SECTION_LIMIT) } });
  blocks.push({
    type: 'section',
    fields: fields.map((text) => ({ type: 'mrkdwn', text: truncate(text, 1900) })),
  });
  if (steps.length > 0)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(steps.join('\n'), SECTION_LIMIT) },
    });
  const pending = state.pendingApproval;
  if (pending) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          `*Approval needed* for \`${e(pending.stepId)}\` (${pending.approvedBy.length}/${pending.minApprovers}, until ${e(pending.deadline)})\n${e(pending.prompt)}`,
          SECTION_LIMIT,
        ),
      },
    });
    const value = JSON.stringify({ incidentId: state.incidentId, stepId: pending.stepId });
    blocks.push({
      type: 'actions',
      block_id: 'rebound_approval',
      elements: [
        {
          type: 'button',
          action_id: 'rebound_approve',
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value,
        },
        {
          type: 'button',
          action_id: 'rebound_reject',
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value,
          // Rejecting usually escalates the incident: one stray click must not do that.
          confirm: {
            title: { type: 'plain_text', text: 'Reject this step?' },
            text: {
              type: 'plain_text',
              text: truncate(
                `Reject ${pending.stepId}? The runbook will not run it and the incident may escalate.`,
                300,
              ),
            },
            confirm: { type: 'plain_text', text: 'Reject' },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        },
      ],
    });
  }
  // Who decided, so the message (updated by the workflow and by the Slack interaction alike) shows it.
  const decisions = (state.decisions ?? []).slice(-10);
  if (decisions.length > 0)
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: truncate(
            decisions
              .map(
                (d) =>
                  `${d.decision === 'approve' ? '👍' : '👎'} ${e(d.identity)} ${d.decision === 'approve' ? 'approved' : 'rejected'} \`${e(d.stepId)}\` via ${e(d.channel)}${d.comment ? `: ${e(d.comment)}` : ''}`,
              )
              .join('\n'),
            SECTION_LIMIT,
          ),
        },
      ],
    });
  const link = incidentLink(publicUrl, state.incidentId);
  const context = `Incident ${e(state.incidentId)} · opened ${e(state.openedAt)}${state.closedAt ? ` · closed ${e(state.closedAt)}` : ''}`;
  blocks.push({
    type: 'context',
    // The link is ours (configured URL + encoded id), so it is the one place a <url|label> is built.
    elements: [
      { type: 'mrkdwn', text: truncate(link ? `${context} · <${link}|details>` : context, SECTION_LIMIT) },
    ],
  });
  // The fallback text is shown in notifications and parsed as mrkdwn: escape it; the header is
  // plain_text, where Slack never turns anything into a mention or link.
  return { text: truncate(e(`${title}: ${state.runbook} on ${state.targetKey}`), TEXT_LIMIT), blocks };
}
