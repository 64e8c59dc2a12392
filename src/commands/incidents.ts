// `rebound incidents list` and `rebound incidents show`: find incidents and read their state.
import { Option, type Command } from 'commander';
import {
  INCIDENT_STATUSES,
  listIncidents,
  parseSince,
  showIncident,
  type IncidentSummary,
  type ShownIncident,
} from '../incident-queries';
import { escapedStrings, jsonForTerminal, printOut } from '../terminal-text';
import type { IncidentStatus } from '../workflows/contract';
import { action, configFromOptions, section, UserError, withSettings, withTemporal } from './common';
import { incidentsCommand } from './groups';

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function shortTime(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

function statusCell(i: IncidentSummary): string {
  // A terminated or timed-out run never got to record its outcome: say so next to the last status.
  const quiet = ['RUNNING', 'COMPLETED', 'FAILED', 'CONTINUED_AS_NEW'];
  return quiet.includes(i.execution) ? i.status || '?' : `${i.status || '?'} (${i.execution.toLowerCase()})`;
}

export function formatIncidentTable(found: IncidentSummary[]): string {
  if (found.length === 0) return 'no incidents match';
  const incidents = escapedStrings(found);
  return table(
    ['ID', 'RUNBOOK', 'TARGET', 'STATUS', 'PHASE', 'OPENED', 'CLOSED'],
    incidents.map((i) => [
      i.id,
      i.runbook,
      i.target,
      statusCell(i) + (i.dryRun ? ' [dry run]' : ''),
      i.phase,
      shortTime(i.opened),
      shortTime(i.closed),
    ]),
  );
}

export function formatShown(raw: ShownIncident): string {
  const shown = escapedStrings(raw);
  const s = shown.state;
  const source =
    shown.source === 'query'
      ? 'live (state query answered by a worker)'
      : shown.source === 'result'
        ? "the workflow's final result in its history"
        : 'rebuilt from the event history';
  const lines = [
    `Incident        ${s.incidentId}`,
    `State from      ${source}`,
    ...(shown.note ? [`Note            ${shown.note}`] : []),
    `Execution       ${shown.execution.toLowerCase()} (run ${shown.runId})`,
    `Runbook         ${s.runbook} (sha256 ${s.runbookHash})`,
    `Target          ${s.targetKey}${s.dryRun ? ' [dry run]' : ''}`,
    `Status          ${s.status}${s.resolution ? `: ${s.resolution}` : ''}`,
    `Phase           ${s.phase}${s.currentStep ? ` (step ${s.currentStep})` : ''}`,
    `Alert           ${s.alert.labels.alertname ?? '?'} ${s.alertFiring ? 'firing' : 'resolved'} (${s.notifications} notification${s.notifications === 1 ? '' : 's'})`,
    `Opened          ${s.openedAt}`,
    `Closed          ${s.closedAt ?? '-'}`,
  ];
  if (s.escalationReason) lines.push(`Escalated       ${s.escalationReason}`);
  if (s.pendingApproval) {
    const p = s.pendingApproval;
    lines.push(
      `Waiting for     approval of ${p.stepId} by ${p.approvers.join(', ')} until ${p.deadline} (${p.approvedBy.length}/${p.minApprovers})`,
    );
  }
  lines.push(
    '',
    table(
      ['STEP', 'TYPE', 'PHASE', 'STATUS', 'ATTEMPTS', 'ERROR'],
      s.steps.map((r) => [
        r.id,
        r.type,
        r.phase,
        r.status,
        String(r.attempts),
        r.error ? `${r.error.type}: ${r.error.message}` : '',
      ]),
    ),
  );
  if (s.decisions.length > 0) {
    lines.push('', 'Decisions');
    for (const d of s.decisions)
      lines.push(
        `  ${d.at}  ${d.identity} ${d.decision === 'approve' ? 'approved' : 'rejected'} ${d.stepId} via ${d.channel}${d.comment ? `: ${d.comment}` : ''}`,
      );
  }
  const recent = s.timeline.slice(-10);
  if (recent.length > 0) {
    lines.push(
      '',
      `Timeline (last ${recent.length} of ${s.timeline.length}; full record: rebound audit ${s.incidentId})`,
    );
    for (const t of recent) lines.push(`  ${t.at}  ${t.kind.padEnd(8)}  ${t.message}`);
  }
  return lines.join('\n');
}

export function registerIncidentCommands(program: Command): void {
  const incidents = incidentsCommand(program);

  withSettings(
    incidents
      .command('list')
      .description(
        'List incidents, newest first (a Temporal visibility query over Rebound search attributes)',
      )
      .addOption(
        new Option('--status <status>', 'only incidents with this status').choices([...INCIDENT_STATUSES]),
      )
      .option('--runbook <name>', 'only incidents of this runbook')
      .option('--target <key>', 'only incidents for this target')
      .option('--since <when>', 'opened since: a duration back from now (24h, 7d) or a time')
      .option('--limit <n>', 'at most this many', '100')
      .option('--json', 'print JSON'),
    section('temporal'),
  ).action(
    action(async (options: Record<string, unknown>) => {
      const { status, runbook, target, since, limit, json, ...settings } = options;
      const config = configFromOptions(settings);
      const max = Number(limit);
      if (!Number.isInteger(max) || max < 1)
        throw new UserError(`--limit ${String(limit)}: expected a whole number ≥ 1`);
      let sinceDate: Date | undefined;
      try {
        sinceDate = typeof since === 'string' ? parseSince(since) : undefined;
      } catch (error) {
        throw new UserError(`--since: ${(error as Error).message}`);
      }
      const found = await withTemporal(config, (client) =>
        listIncidents(
          client,
          {
            ...(typeof status === 'string' ? { status: status as IncidentStatus } : {}),
            ...(typeof runbook === 'string' ? { runbook } : {}),
            ...(typeof target === 'string' ? { target } : {}),
            ...(sinceDate ? { since: sinceDate } : {}),
          },
          max,
        ),
      );
      printOut(json ? jsonForTerminal(found) : formatIncidentTable(found));
    }),
  );

  withSettings(
    incidents
      .command('show')
      .description(
        'Show one incident: live state from its worker, or (closed, or no worker answering) rebuilt from its history',
      )
      .argument('<id>', 'incident (workflow) id')
      .option('--run-id <id>', 'a particular run (default: the latest)')
      .option('--query-timeout <ms>', 'how long to wait for a worker to answer', '3000')
      .option('--json', 'print JSON: { source, execution, runId, state }'),
    section('temporal'),
  ).action(
    action(async (id: string, options: Record<string, unknown>) => {
      const { json, runId, queryTimeout, ...settings } = options;
      const config = configFromOptions(settings);
      const timeoutMs = Number(queryTimeout);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
        throw new UserError(`--query-timeout ${String(queryTimeout)}: expected a number of milliseconds > 0`);
      // Not found is exit 3 with the id and namespace (describeFailure, through withTemporal).
      const shown = await withTemporal(config, (client) =>
        showIncident(client, id, {
          queryTimeoutMs: timeoutMs,
          ...(typeof runId === 'string' ? { runId } : {}),
        }),
      );
      printOut(json ? jsonForTerminal(shown) : formatShown(shown));
    }),
  );
}
