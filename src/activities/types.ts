// The contract between the incident workflow and the integrations. The workflow imports this file
// as types only; each integration file implements its part.
import type { IncidentState } from '../workflows/contract';
import type { SecretRef } from '../runbook-lang/secret-refs';
import type { AdmitAnswer, BudgetAnswer } from '../workflows/guard-contract';

/** What every step activity is told besides its parameters. */
export interface StepContext {
  incidentId: string;
  runbook: string;
  stepId: string;
  /** Workflow time at which this step began (ISO). Lets a retried restart see it already happened. */
  stepStartedAt: string;
  /** Report what would be done; change nothing. */
  dryRun: boolean;
  /** Which visit of the step this is (1 on the first; a goto back makes another). Absent in older incidents. */
  visit?: number;
  /** The incident's first run id (stable across continue-as-new). Absent in older incidents. */
  firstRunId?: string;
}

export interface StepInput<P> {
  params: P;
  ctx: StepContext;
}

/** Outputs of a dry-run mutating activity: what it would have done, observed read-only. */
export interface DryRunReport {
  dryRun: true;
  wouldDo: string;
  observed?: unknown;
}

export interface ContainerRef {
  container: string;
}

export interface ContainerState {
  exists: boolean;
  id?: string;
  name?: string;
  image?: string;
  status?: string;
  running: boolean;
  /** Docker health status when the container has a health check: healthy, unhealthy, starting. */
  health?: string;
  restartCount?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
}

export interface RestartParams extends ContainerRef {
  /** Seconds Docker waits for a clean stop before killing. */
  stopTimeout?: number;
}

export interface RestartResult {
  container: string;
  /** False when a previous attempt already restarted it after the step began. */
  restarted: boolean;
  startedAt?: string;
}

export interface FailoverParams {
  primary: string;
  standby: string;
  stopTimeout?: number;
}

export interface FailoverResult {
  primary: ContainerState;
  standby: ContainerState;
}

export interface WaitHealthyParams extends ContainerRef {
  /** Optional HTTP URL to probe when the container has no health check. */
  url?: string;
  /** Milliseconds between observations. */
  intervalMs?: number;
}

export interface WaitHealthyResult {
  healthy: boolean;
  observations: number;
  last: ContainerState;
}

export interface ContainerLogsParams extends ContainerRef {
  /** How many of the newest lines (default 100, at most 1000). */
  tail?: number;
  /** Only lines written this long ago or later: a duration such as "10m" or milliseconds. */
  since?: string | number;
}

export interface ContainerLogLine {
  stream: 'stdout' | 'stderr';
  /** The line, control characters written as visible escapes (\x1b), cut at 500 characters. */
  text: string;
}

export interface ContainerLogsResult {
  container: string;
  /** Oldest first. */
  lines: ContainerLogLine[];
  /** Older lines were left out or long lines cut, to keep the incident's record small. */
  truncated: boolean;
}

export interface HttpProbeParams {
  url: string;
  method?: string;
  expectStatus?: number | number[];
  bodyMatch?: string;
  timeoutMs?: number;
}

export interface HttpProbeResult {
  ok: boolean;
  status?: number;
  durationMs: number;
  bodyMatched?: boolean;
  error?: string;
}

export interface TcpProbeParams {
  host: string;
  port: number;
  timeoutMs?: number;
}

export interface TcpProbeResult {
  ok: boolean;
  durationMs: number;
  error?: string;
}

export interface PromQueryParams {
  /** Prometheus base URL; defaults to the configured one. */
  url?: string;
  query: string;
}

export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

export interface PromQueryResult {
  resultType: string;
  samples: PromSample[];
  /** First sample's value, or null when the result is empty: handy in conditions. */
  value: number | null;
}

export interface ImpactParams {
  url?: string;
  /** PromQL returning one series per affected target (for example `up{job="api"} == 0`). */
  query?: string;
  /** PromQL returning one series per target in scope, for the share affected. */
  totalQuery?: string;
  /** Label naming the service in the series; defaults to `job`. */
  serviceLabel?: string;
}

export interface ImpactResult {
  affectedTargets: number;
  totalTargets: number;
  share: number;
  services: string[];
  summary: string;
}

export interface HttpCallParams {
  url: string;
  method?: string;
  /** Values are text, or a secret the worker resolves: `{ secret: NAME, prefix?: "Bearer " }`. */
  headers?: Record<string, string | SecretRef>;
  body?: unknown;
  expectStatus?: number | number[];
  timeoutMs?: number;
}

export interface HttpCallResult {
  status: number;
  body: unknown;
}

export interface NotifyParams {
  channel: 'slack' | 'email';
  /** Slack channel id/name or email addresses. */
  to?: string | string[];
  subject?: string;
  text: string;
}

export interface NotifyResult {
  channel: 'slack' | 'email';
  /** Slack message ts or email Message-ID. */
  id: string;
  /** True when an earlier attempt had already delivered it. */
  duplicateSuppressed?: boolean;
  /** Not sent: written to the local outbox of `rebound dev` because the channel is not configured. */
  outbox?: boolean;
}

/** The Slack incident message, kept in place as the incident moves. */
export interface IncidentMessageInput {
  channel: string;
  /** ts of the message once created; absent the first time. */
  ts?: string;
  state: IncidentState;
  /** A step result to post into the message's thread. */
  threadText?: string;
  /**
   * What the thread reply is about (for example the step id), so a retried attempt recognises a reply it
   * already posted. Defaults to a hash of threadText.
   */
  threadKey?: string;
}

export interface IncidentMessageResult {
  ts: string;
  /** The channel id Slack answered with; chat.update needs the id, so pass it back as `channel` next time. */
  channel?: string;
}

/** Activities by the name the worker registers them under. */
export interface AdmitInput {
  incidentId: string;
  runbook: string;
  target: string;
  resources: string[];
  /** Safety state is kept per scope: one deployment, named by its task queue. */
  scope: string;
}

export interface ConsumeInput {
  scope: string;
  resource: string;
  key: string;
  /**
   * Which question this is for the key: the incident asks again after each backoff, and each time the
   * budget must decide anew (an update id that was answered returns its first answer forever).
   */
  round?: number;
  /** The key is already counted: move its action's time to now (see RESTAMP_AFTER_MS). */
  restamp?: boolean;
  incidentId: string;
  stepId: string;
  action: string;
}

/** Takes back the action a key counted, for a step that did not act after all. */
export interface RefundInput {
  scope: string;
  resource: string;
  key: string;
  incidentId: string;
  stepId: string;
}

export type AdmitResult = AdmitAnswer & { lockWaitMs: number };

/** The incident's calls to the guard workflows (activity types keep their recorded names). */
export interface GuardActivities {
  safetyAdmit(input: AdmitInput): Promise<AdmitResult>;
  safetyLeave(input: { incidentId: string; scope: string }): Promise<void>;
  budgetConsume(input: ConsumeInput): Promise<BudgetAnswer>;
  budgetRefund(input: RefundInput): Promise<{ refunded: boolean }>;
}

export interface ReboundActivities extends GuardActivities {
  containerInspect(input: StepInput<ContainerRef>): Promise<ContainerState>;
  containerRestart(input: StepInput<RestartParams>): Promise<RestartResult | DryRunReport>;
  containerStart(input: StepInput<ContainerRef>): Promise<ContainerState | DryRunReport>;
  containerStop(input: StepInput<RestartParams>): Promise<ContainerState | DryRunReport>;
  containerFailover(input: StepInput<FailoverParams>): Promise<FailoverResult | DryRunReport>;
  containerWaitHealthy(input: StepInput<WaitHealthyParams>): Promise<WaitHealthyResult>;
  containerLogs(input: StepInput<ContainerLogsParams>): Promise<ContainerLogsResult>;
  probeHttp(input: StepInput<HttpProbeParams>): Promise<HttpProbeResult>;
  probeTcp(input: StepInput<TcpProbeParams>): Promise<TcpProbeResult>;
  prometheusQuery(input: StepInput<PromQueryParams>): Promise<PromQueryResult>;
  impactAssess(input: StepInput<ImpactParams>): Promise<ImpactResult>;
  httpCall(input: StepInput<HttpCallParams>): Promise<HttpCallResult | DryRunReport>;
  notify(input: StepInput<NotifyParams>): Promise<NotifyResult>;
  slackIncidentMessage(input: IncidentMessageInput): Promise<IncidentMessageResult>;
}
