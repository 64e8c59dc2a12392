// The guard workflows, shared by the incidents of one deployment (see incident/guards.ts for the
// glossary; the workflow types are legacy wire names). Deterministic code only.
//
// targetLock: one remediation at a time per target. The lock IS a running workflow with the id
// lock/<resource>, started as a child of the incident with ParentClosePolicy TERMINATE: Temporal
// refuses a second one while it runs, and ends it when the incident ends however it ends
// (completed, failed, terminated, timed out), so a dead incident cannot keep a target locked.
//
// targetBudget: the durable count of mutating actions per target, with growing backoff.
//
// control: the kill-switch workflow: the kill switch (pause/resume) and the global breaker, one
// workflow per guard scope.
import {
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { ReboundActivities } from '../activities/types';
import { formatDuration } from '../runbook-lang/duration';
import { nowIso, nowMs } from './clock';
import {
  admitUpdate,
  budgetStatusQuery,
  consumeBudgetUpdate,
  controlStatusQuery,
  leaveUpdate,
  pauseUpdate,
  releaseLockSignal,
  refundBudgetUpdate,
  resetBudgetUpdate,
  resumeUpdate,
  type AdmitAnswer,
  type BreakerPolicy,
  type BudgetAction,
  type BudgetAnswer,
  type BudgetPolicy,
  type BudgetRequest,
  type PauseRequest,
  type ResumeRequest,
  type BudgetStatus,
  type ControlStatus,
  type LockInput,
  type SummaryChannels,
} from './guard-contract';

const ENTITY_HISTORY_LIMIT = 2_000;

export async function targetLock(input: LockInput): Promise<LockInput> {
  let released = false;
  setHandler(releaseLockSignal, () => {
    released = true;
  });
  await condition(() => released);
  return input;
}

// --- budget ---

export interface BudgetInput {
  resource: string;
  carried?: { actions: BudgetAction[]; policy?: BudgetPolicy };
}

export async function targetBudget(input: BudgetInput): Promise<BudgetStatus> {
  let actions: BudgetAction[] = input.carried?.actions ?? [];
  let policy: BudgetPolicy | undefined = input.carried?.policy;

  const prune = (): void => {
    if (!policy) return;
    const since = nowMs() - policy.windowMs;
    actions = actions.filter((a) => Date.parse(a.at) > since);
  };
  const status = (): BudgetStatus => {
    prune();
    const remaining = policy ? Math.max(0, policy.max - actions.length) : 0;
    const oldest = actions[0];
    return {
      resource: input.resource,
      ...(policy ? { policy } : {}),
      actions,
      remaining,
      ...(policy && remaining === 0 && oldest
        ? { nextAllowedAt: new Date(Date.parse(oldest.at) + policy.windowMs).toISOString() }
        : {}),
    };
  };

  setHandler(budgetStatusQuery, status);
  setHandler(
    consumeBudgetUpdate,
    (request): BudgetAnswer => {
      policy = request.policy;
      prune();
      const earlier = actions.find((a) => a.key === request.key);
      if (earlier) {
        if (request.restamp) {
          const at = Math.max(nowMs(), request.requestedAtMs ?? 0, Date.parse(earlier.at));
          earlier.at = new Date(at).toISOString();
          actions.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
        }
        return { allowed: true, remaining: Math.max(0, policy.max - actions.length), used: actions.length };
      }
      // An update may run in a workflow task whose time lags the caller's: take the later clock, or a
      // caller past its backoff would be told to back off again and again.
      const now = Math.max(nowMs(), request.requestedAtMs ?? 0);
      if (actions.length >= policy.max) {
        const oldest = actions[0] as BudgetAction;
        return {
          allowed: false,
          reason: 'exhausted',
          nextAt: new Date(Date.parse(oldest.at) + policy.windowMs).toISOString(),
          used: actions.length,
          max: policy.max,
          windowMs: policy.windowMs,
        };
      }
      const last = actions[actions.length - 1];
      if (last) {
        const gap = Math.min(
          policy.maxBackoffMs,
          policy.backoffMs * policy.backoffCoefficient ** (actions.length - 1),
        );
        const retryAt = Date.parse(last.at) + gap;
        if (now < retryAt) {
          return {
            allowed: false,
            reason: 'backoff',
            retryAt: new Date(retryAt).toISOString(),
            used: actions.length,
            remaining: policy.max - actions.length,
          };
        }
      }
      actions.push({
        key: request.key,
        at: new Date(now).toISOString(),
        incidentId: request.incidentId,
        stepId: request.stepId,
        action: request.action,
      });
      return { allowed: true, remaining: policy.max - actions.length, used: actions.length };
    },
    {
      validator: (request: BudgetRequest) => {
        if (!request.policy || request.policy.max < 0 || request.policy.windowMs <= 0)
          throw new Error('budget request needs a policy with max >= 0 and a window');
      },
    },
  );
  // Set when a refund empties the window: the budget then ends at once rather than at the window's
  // end, as if never asked (`rebound status` lists only budgets that hold actions).
  let emptiedByRefund = false;
  setHandler(refundBudgetUpdate, ({ key }) => {
    const before = actions.length;
    actions = actions.filter((a) => a.key !== key);
    emptiedByRefund = before > 0 && actions.length === 0;
    return { refunded: actions.length < before };
  });
  setHandler(resetBudgetUpdate, () => {
    actions = [];
    return status();
  });

  // Lives while its window holds actions; an idle budget ends and the next action starts a new one.
  for (;;) {
    const windowMs = policy?.windowMs ?? 60_000;
    const full = (): boolean => workflowInfo().historyLength > ENTITY_HISTORY_LIMIT;
    const woken = await condition(() => full() || emptiedByRefund, windowMs);
    emptiedByRefund = false;
    const historyFull = woken && full();
    prune();
    if (!historyFull && actions.length === 0) {
      await condition(allHandlersFinished);
      if (actions.length === 0) return status();
    }
    if (workflowInfo().historyLength > ENTITY_HISTORY_LIMIT || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof targetBudget>({
        resource: input.resource,
        carried: { actions, ...(policy ? { policy } : {}) },
      });
    }
  }
}

// --- the kill-switch workflow (type `control`) ---

export interface ControlInput {
  carried?: ControlStatus & {
    activeLeases: Record<string, number>;
    targetsSeen: Record<string, number>;
    summary?: SummaryChannels;
    policy?: BreakerPolicy;
  };
}

export async function control(input: ControlInput = {}): Promise<void> {
  const carried = input.carried;
  const state: ControlStatus = {
    pausedRunbooks: carried?.pausedRunbooks ?? {},
    ...(carried?.pausedAll ? { pausedAll: carried.pausedAll } : {}),
    breaker: carried?.breaker ?? { open: false, refused: [] },
    active: carried?.active ?? [],
    recentTargets: 0,
    log: carried?.log ?? [],
  };
  /** incidentId -> lease expiry (ms). */
  // Keyed by incident id and target, which come from labels: null-prototype maps keep `__proto__` a key.
  const leases = keyedByLabel(carried?.activeLeases);
  /** target -> last seen (ms), for the share rule. */
  const targetsSeen = keyedByLabel(carried?.targetsSeen);
  let summary: SummaryChannels | undefined = carried?.summary;
  let policy: BreakerPolicy | undefined = carried?.policy;
  let pendingMessages: string[] = [];

  const log = (message: string): void => {
    state.log.push({ at: nowIso(), message });
    if (state.log.length > 200) state.log.splice(0, state.log.length - 200);
  };
  const expire = (): void => {
    const now = nowMs();
    state.active = state.active.filter((a) => (leases[a.incidentId] ?? 0) > now);
    for (const id of Object.keys(leases)) if ((leases[id] ?? 0) <= now) delete leases[id];
    for (const target of Object.keys(targetsSeen))
      if ((targetsSeen[target] ?? 0) < now - 3_600_000) delete targetsSeen[target];
    state.recentTargets = Object.keys(targetsSeen).length;
    if (state.breaker.open && policy) {
      const quietSince = Date.parse(state.breaker.lastRefusedAt ?? state.breaker.openedAt ?? nowIso());
      state.breaker.closesAt = new Date(quietSince + policy.quietMs).toISOString();
    }
  };
  const closeBreaker = (why: string): void => {
    const refused = state.breaker.refused.length;
    state.breaker = { open: false, refused: [] };
    log(`breaker closed: ${why}`);
    pendingMessages.push(
      `Rebound breaker closed (${why}); ${refused} remediation(s) were held back while it was open. Automation acts again.`,
    );
  };

  setHandler(controlStatusQuery, () => {
    expire();
    return state;
  });
  setHandler(admitUpdate, (request): AdmitAnswer => {
    expire();
    policy = request.policy;
    summary = request.summary;
    targetsSeen[request.target] = nowMs();
    state.recentTargets = Object.keys(targetsSeen).length;
    if (state.pausedAll)
      return {
        decision: 'paused',
        reason: `automation paused by ${state.pausedAll.by} at ${state.pausedAll.at}${state.pausedAll.reason ? ` (${state.pausedAll.reason})` : ''}`,
      };
    const pausedRunbook = state.pausedRunbooks[request.runbook];
    if (pausedRunbook)
      return {
        decision: 'paused',
        reason: `runbook ${request.runbook} paused by ${pausedRunbook.by} at ${pausedRunbook.at}`,
      };
    const already = state.active.find((a) => a.incidentId === request.incidentId);
    if (already) {
      leases[request.incidentId] = nowMs() + request.policy.leaseMs;
      return { decision: 'act' };
    }
    const refuse = (reason: string): AdmitAnswer => {
      state.breaker.refused.push({ incidentId: request.incidentId, target: request.target, at: nowIso() });
      if (state.breaker.refused.length > 500)
        state.breaker.refused.splice(0, state.breaker.refused.length - 500);
      state.breaker.lastRefusedAt = nowIso();
      return { decision: 'breaker', reason };
    };
    if (state.breaker.open)
      return refuse(`breaker open since ${state.breaker.openedAt}: ${state.breaker.reason ?? ''}`);
    const activeCount = state.active.length;
    const share = state.recentTargets > 0 ? (activeCount + 1) / state.recentTargets : 0;
    const overCount = activeCount + 1 > request.policy.maxActive;
    const overShare =
      request.policy.maxShare > 0 &&
      state.recentTargets >= request.policy.minTargetsForShare &&
      share > request.policy.maxShare;
    if (overCount || overShare) {
      const reason = overCount
        ? `${activeCount + 1} targets would be remediated at once, more than the limit of ${request.policy.maxActive}`
        : `${Math.round(share * 100)}% of the ${state.recentTargets} targets seen in the last hour would be remediated at once, more than ${Math.round(request.policy.maxShare * 100)}%`;
      state.breaker = { open: true, openedAt: nowIso(), reason, refused: [] };
      log(`breaker opened: ${reason}`);
      const answer = refuse(reason);
      pendingMessages.push(
        `Rebound breaker OPEN: ${reason}. Automation has stopped acting; this looks like a mass outage and is a human's call. ` +
          `Targets being remediated: ${state.active.map((a) => a.target).join(', ') || 'none'}; held back: ${request.target}` +
          ` (further ones are counted, not messaged). It closes by itself after ${formatDuration(request.policy.quietMs)} without new refusals, or with \`rebound resume --breaker\`.`,
      );
      return answer;
    }
    state.active.push({
      incidentId: request.incidentId,
      target: request.target,
      runbook: request.runbook,
      since: nowIso(),
    });
    leases[request.incidentId] = nowMs() + request.policy.leaseMs;
    return { decision: 'act' };
  });
  setHandler(leaveUpdate, ({ incidentId }) => {
    state.active = state.active.filter((a) => a.incidentId !== incidentId);
    delete leases[incidentId];
  });
  setHandler(
    pauseUpdate,
    (request) => {
      const entry = {
        by: request.identity,
        at: nowIso(),
        ...(request.reason ? { reason: request.reason } : {}),
      };
      if (request.runbook) state.pausedRunbooks[request.runbook] = entry;
      else state.pausedAll = entry;
      log(
        `paused ${request.runbook ? `runbook ${request.runbook}` : 'all automation'} by ${request.identity}${request.reason ? `: ${request.reason}` : ''}`,
      );
      return state;
    },
    { validator: (request: PauseRequest) => requireIdentity(request.identity, 'pausing') },
  );
  setHandler(
    resumeUpdate,
    (request) => {
      if (request.runbook) delete state.pausedRunbooks[request.runbook];
      else {
        delete state.pausedAll;
        if (!request.closeBreaker) state.pausedRunbooks = {};
      }
      if (request.closeBreaker && state.breaker.open) closeBreaker(`closed by ${request.identity}`);
      log(
        `resumed ${request.runbook ? `runbook ${request.runbook}` : request.closeBreaker ? 'the breaker' : 'all automation'} by ${request.identity}${request.reason ? `: ${request.reason}` : ''}`,
      );
      return state;
    },
    { validator: (request: ResumeRequest) => requireIdentity(request.identity, 'resuming') },
  );

  const act = proxyActivities<ReboundActivities>({
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 5, initialInterval: '5s' },
  });
  const send = async (text: string): Promise<void> => {
    const channels = summary;
    if (!channels) return;
    const sends: Array<Promise<unknown>> = [];
    const ctx = {
      incidentId: workflowInfo().workflowId,
      runbook: 'control',
      stepId: `breaker-${state.log.length}`,
      stepStartedAt: nowIso(),
      dryRun: false,
    };
    if (channels.slackChannel)
      sends.push(
        act.notify({
          params: { channel: 'slack', to: channels.slackChannel, text },
          ctx: { ...ctx, stepId: `${ctx.stepId}-slack` },
        }),
      );
    if (channels.email?.length)
      sends.push(
        act.notify({
          params: { channel: 'email', to: channels.email, subject: '[rebound] breaker', text },
          ctx: { ...ctx, stepId: `${ctx.stepId}-email` },
        }),
      );
    const results = await Promise.allSettled(sends);
    for (const r of results)
      if (r.status === 'rejected') log(`summary not sent: ${String((r.reason as Error).message)}`);
    if (sends.length > 0) log(`summary sent: ${text.slice(0, 120)}`);
  };

  for (;;) {
    const wait =
      state.breaker.open && policy
        ? Math.max(1000, Date.parse(state.breaker.closesAt ?? nowIso()) - nowMs())
        : 3_600_000;
    await condition(
      () => pendingMessages.length > 0 || workflowInfo().historyLength > ENTITY_HISTORY_LIMIT,
      wait,
    );
    expire();
    if (state.breaker.open && policy && nowMs() >= Date.parse(state.breaker.closesAt ?? nowIso())) {
      closeBreaker(`quiet for ${formatDuration(policy.quietMs)}`);
    }
    const messages = pendingMessages;
    pendingMessages = [];
    for (const text of messages) await send(text);
    if (workflowInfo().historyLength > ENTITY_HISTORY_LIMIT || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof control>({
        carried: {
          ...state,
          activeLeases: leases,
          targetsSeen,
          ...(summary ? { summary } : {}),
          ...(policy ? { policy } : {}),
        },
      });
    }
  }
}

function requireIdentity(identity: unknown, what: string): void {
  if (typeof identity !== 'string' || identity.trim() === '')
    throw new Error(`${what} needs an identity (--as)`);
}

function keyedByLabel(from: Record<string, number> | undefined): Record<string, number> {
  return Object.assign(Object.create(null) as Record<string, number>, from ?? {});
}
