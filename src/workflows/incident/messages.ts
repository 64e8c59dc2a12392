// The incident's own messages to people: the Slack incident message (kept current, with thread
// replies for steps and the outcome), the escalation mail, and approval reminders. None of them
// ever fails the incident: a message that cannot be sent is noted in the timeline.
import { proxyActivities } from '@temporalio/workflow';
import type { ReboundActivities } from '../../activities/types';
import type { Step } from '../../runbook-lang/types';
import { nowIso } from '../clock';
import type { ApprovalSpec } from './approval-rules';
import { describeFailure, errorMessage } from './failures';
import type { RunningIncident } from './state';

/** Keeps the Slack incident message current, when the runbook has one. Never fails the incident. */
export async function slack(run: RunningIncident, threadText?: string, threadKey?: string): Promise<void> {
  const configured = run.runbook.notifications?.slack?.channel;
  if (!configured || run.suppressMessages) return;
  // Slack answers with the channel id, which updates and duplicate checks need.
  const channel = run.slackChannel ?? configured;
  const act = proxyActivities<ReboundActivities>({
    startToCloseTimeout: '20s',
    retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s' },
  });
  try {
    const result = await act.slackIncidentMessage({
      channel,
      ts: run.slackTs,
      state: run.state,
      ...(threadText ? { threadText, threadKey: threadKey ?? `note-${run.state.timeline.length}` } : {}),
    });
    run.slackTs = result.ts;
    run.slackChannel = result.channel ?? run.slackChannel;
  } catch (error) {
    const failure = describeFailure(error);
    run.note('message', `Slack incident message not updated: ${failure.type}: ${failure.message}`);
  }
}

/** Mails the runbook's escalation list the reason and the timeline. */
export async function escalationMail(run: RunningIncident, reason: string): Promise<void> {
  const { runbook, state, input } = run;
  const to = runbook.notifications?.email?.to;
  if (!to || to.length === 0 || run.suppressMessages) return;
  const act = proxyActivities<ReboundActivities>({
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 5, initialInterval: '5s' },
  });
  try {
    await act.notify({
      params: {
        channel: 'email',
        to,
        subject: `[rebound] escalated: ${runbook.name} ${state.targetKey}`,
        text: `Incident ${state.incidentId} escalated: ${reason}\n\n${state.timeline.map((t) => `${t.at} ${t.kind}: ${t.message}`).join('\n')}`,
      },
      ctx: {
        incidentId: state.incidentId,
        runbook: runbook.name,
        stepId: 'escalation-mail',
        stepStartedAt: nowIso(),
        dryRun: input.dryRun,
      },
    });
    run.note('message', `escalation mail sent to ${to.join(', ')}`);
  } catch (error) {
    run.note('message', `escalation mail failed: ${errorMessage(error)}`);
  }
}

/** Reminds the approvers that an approval step still waits for them. */
export async function remind(
  run: RunningIncident,
  step: Step,
  spec: ApprovalSpec,
  reminder: ApprovalSpec['reminders'][number],
): Promise<void> {
  const { runbook, state, input } = run;
  const act = proxyActivities<ReboundActivities>({
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 3, initialInterval: '5s' },
  });
  const text = `Reminder: incident ${state.incidentId} waits for approval of ${step.id} (${spec.prompt}); approvers: ${[...spec.approvers, ...spec.groups].join(', ')}`;
  try {
    await act.notify({
      params: {
        channel: reminder.channel,
        ...(reminder.to !== undefined ? { to: reminder.to } : {}),
        subject: `[rebound] approval waiting: ${runbook.name} ${state.targetKey}`,
        text,
      },
      ctx: {
        incidentId: state.incidentId,
        runbook: runbook.name,
        stepId: `${step.id}.reminder.${String(reminder.after)}`,
        stepStartedAt: nowIso(),
        dryRun: input.dryRun,
      },
    });
    run.note('reminder', `reminded via ${reminder.channel} after ${String(reminder.after)}`);
  } catch (error) {
    run.note('reminder', `reminder via ${reminder.channel} failed: ${errorMessage(error)}`);
  }
}
