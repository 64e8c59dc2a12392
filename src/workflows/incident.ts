// PLACEHOLDER until the runbook interpreter lands: keeps the contract's signal/query semantics
// (open until the alert resolves; every notification counted) so intake can be built against it.
import { condition, setHandler } from '@temporalio/workflow';
import {
  alertSignal,
  stateQuery,
  type AlertNotification,
  type IncidentInput,
  type IncidentState,
} from './contract';

export async function incident(input: IncidentInput): Promise<IncidentState> {
  const received: AlertNotification[] = [];
  let resolved = false;
  setHandler(alertSignal, (notification) => {
    received.push(notification);
    if (notification.alert.status === 'resolved') resolved = true;
  });
  const state = (): IncidentState => {
    const first = received[0]?.alert;
    return {
      incidentId: input.incidentId,
      runbook: input.snapshot.runbook.name,
      runbookHash: input.snapshot.hash,
      targetKey: input.targetKey,
      dryRun: input.dryRun,
      status: resolved ? 'resolved' : 'open',
      phase: resolved ? 'done' : 'detect',
      alert: first ?? {
        status: 'firing',
        labels: {},
        annotations: {},
        startsAt: '',
        endsAt: '',
        generatorURL: '',
        fingerprint: '',
      },
      alertFiring: !resolved,
      notifications: received.length,
      steps: [],
      decisions: [],
      timeline: [],
      openedAt: '',
    };
  };
  setHandler(stateQuery, state);
  await condition(() => resolved);
  return state();
}
