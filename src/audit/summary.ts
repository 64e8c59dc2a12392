// The part of an incident's audit a non-engineer reads first: what the alert was, what Rebound did,
// who decided what, how it ended and how long it took, and the phases drawn as a timeline (an SVG
// picture). Shared by `rebound audit --format html` and the console's incident page: one renderer.
import { escapeHtml as e } from '../html-escape';
import { PHASES } from '../runbook-lang/types';
import type { IncidentState } from '../workflows/contract';
import { formatMs, type AuditRecord } from './model';

export interface IncidentSummary {
  alert: { name: string; summary?: string; labels: Array<[string, string]>; status: string };
  did: string[];
  decided: string[];
  ended: string;
  /** From the first alert to Rebound's first step. */
  firstActionMs?: number;
  firstAction?: string;
  /** From the first alert to the incident resolving. */
  recoveryMs?: number;
  open: boolean;
}

function stepVerb(outcome: string): string {
  return outcome === 'completed'
    ? 'succeeded'
    : outcome === 'running' || outcome === 'scheduled'
      ? 'is running'
      : outcome;
}

/** The state to read steps from: the live one when given, else the final one in the history. */
function stateOf(r: AuditRecord, live?: IncidentState): IncidentState | undefined {
  return live ?? r.outcome.state;
}

export function summarise(r: AuditRecord, live?: IncidentState): IncidentSummary {
  const state = stateOf(r, live);
  const first = r.alerts.find((a) => a.notification)?.notification;
  const alertSnapshot = state?.alert.fingerprint ? state.alert : first?.alert;
  const labels = Object.entries(alertSnapshot?.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const annotations = alertSnapshot?.annotations ?? {};
  const did: string[] = [];
  const steps = r.input?.snapshot.runbook.steps ?? [];
  for (const step of steps) {
    const runs = r.activities.filter((a) => a.purpose === 'step' && a.stepId === step.id);
    const rec = state?.steps.find((s) => s.id === step.id);
    const last = runs[runs.length - 1];
    if (last) {
      const attempts = runs.reduce((n, a) => n + Math.max(a.attempt, 1), 0);
      const took = last.totalMs !== undefined ? ` in ${formatMs(last.totalMs)}` : '';
      did.push(
        `${step.id} (${step.type}, ${step.phase}) ${stepVerb(last.outcome)}${attempts > 1 ? ` after ${attempts} attempts` : ''}${took}${last.error ? `: ${last.error.message}` : ''}`,
      );
    } else if (rec && rec.status !== 'pending') {
      did.push(`${step.id} (${step.type}, ${step.phase}) ${rec.status}${rec.note ? `: ${rec.note}` : ''}`);
    }
  }
  const decided = r.decisions.map((d) => {
    const who = typeof d.request.identity === 'string' ? d.request.identity : '?';
    const via = typeof d.request.channel === 'string' ? d.request.channel : '?';
    const comment =
      typeof d.request.comment === 'string' && d.request.comment ? ` — “${d.request.comment}”` : '';
    const res = (d.response ?? {}) as { stepId?: unknown };
    const step =
      typeof res.stepId === 'string'
        ? res.stepId
        : typeof d.request.stepId === 'string'
          ? d.request.stepId
          : '';
    const what =
      d.update === 'decide'
        ? `${d.request.decision === 'reject' ? 'rejected' : 'approved'}${step ? ` ${step}` : ''}`
        : d.update === 'close'
          ? 'closed the incident'
          : d.update;
    return `${who} ${what} via ${via} at ${d.at}${d.error ? ` (refused: ${d.error.message})` : ''}${comment}`;
  });
  const open = r.closedAt === undefined && (state?.status ?? 'open') !== 'resolved' && !state?.closedAt;
  const status = state?.status ?? (r.outcome.kind === 'running' ? 'open' : r.outcome.kind);
  const ended = open
    ? `Still open${state?.currentStep ? `, at step ${state.currentStep}` : ''}${state?.pendingApproval ? `, waiting for approval of ${state.pendingApproval.stepId}` : ''}.`
    : `${status}${state?.resolution ? `: ${state.resolution}` : ''}${r.closedAt ? ` at ${r.closedAt}` : ''}`;
  const startMs = Date.parse(r.alerts[0]?.at ?? r.startedAt);
  const firstStep = r.activities.find((a) => a.purpose === 'step');
  const firstAt = firstStep?.startedAt ?? firstStep?.scheduledAt;
  const resolvedAt = state?.status === 'resolved' ? (state.closedAt ?? r.closedAt) : undefined;
  return {
    alert: {
      name: alertSnapshot?.labels.alertname ?? '(no alert received)',
      ...(annotations.summary || annotations.description
        ? { summary: annotations.summary ?? annotations.description }
        : {}),
      labels,
      status: alertSnapshot?.status ?? '?',
    },
    did,
    decided,
    ended,
    ...(firstAt && firstStep
      ? {
          firstActionMs: Date.parse(firstAt) - startMs,
          firstAction: `${firstStep.stepId ?? firstStep.activityType}`,
        }
      : {}),
    ...(resolvedAt ? { recoveryMs: Date.parse(resolvedAt) - startMs } : {}),
    open,
  };
}

/** The summary as HTML (escaped), for the audit page and the console. */
export function renderSummaryHtml(r: AuditRecord, live?: IncidentState): string {
  const s = summarise(r, live);
  const list = (items: string[], empty: string): string =>
    items.length === 0
      ? `<p class="empty">${e(empty)}</p>`
      : `<ul>${items.map((i) => `<li>${e(i)}</li>`).join('')}</ul>`;
  const labels = s.alert.labels.map(([k, v]) => `<span class="label">${e(k)}=${e(v)}</span>`).join(' ');
  return [
    '<section class="summary" id="summary">',
    '<h2>Summary</h2>',
    '<div class="facts">',
    `<div class="fact"><span class="fact-name">Time to first action</span><span class="fact-value">${s.firstActionMs !== undefined ? e(formatMs(Math.max(0, s.firstActionMs))) : '—'}</span></div>`,
    `<div class="fact"><span class="fact-name">Time to recovery</span><span class="fact-value">${s.recoveryMs !== undefined ? e(formatMs(Math.max(0, s.recoveryMs))) : s.open ? 'not yet' : '—'}</span></div>`,
    '</div>',
    '<h3>The alert</h3>',
    `<p><strong>${e(s.alert.name)}</strong> (${e(s.alert.status)})${s.alert.summary ? `: ${e(s.alert.summary)}` : ''}</p>`,
    labels ? `<p class="labels">${labels}</p>` : '',
    '<h3>What Rebound did</h3>',
    list(s.did, 'No step has run yet.'),
    '<h3>Who decided what</h3>',
    list(s.decided, 'Nobody has decided anything.'),
    '<h3>How it ended</h3>',
    `<p>${e(s.ended)}</p>`,
    '</section>',
  ].join('\n');
}

interface Bar {
  phase: string;
  label: string;
  from: number;
  to: number;
  kind: string;
  title: string;
}

function bars(r: AuditRecord, live: IncidentState | undefined, endMs: number): Bar[] {
  const state = stateOf(r, live);
  const out: Bar[] = [];
  const steps = r.input?.snapshot.runbook.steps ?? [];
  for (const step of steps) {
    const rec = state?.steps.find((s) => s.id === step.id);
    const runs = r.activities.filter((a) => a.purpose === 'step' && a.stepId === step.id);
    if (runs.length > 0) {
      for (const a of runs) {
        const from = Date.parse(a.startedAt ?? a.scheduledAt);
        const to = a.closedAt ? Date.parse(a.closedAt) : endMs;
        out.push({
          phase: step.phase,
          label: step.id,
          from,
          to,
          kind:
            a.outcome === 'completed'
              ? 'ok'
              : a.outcome === 'running' || a.outcome === 'scheduled'
                ? 'running'
                : 'failed',
          title: `${step.id}: ${a.activityType} ${stepVerb(a.outcome)}${a.totalMs !== undefined ? ` in ${formatMs(a.totalMs)}` : ''}`,
        });
      }
    } else if (rec?.startedAt) {
      const from = Date.parse(rec.startedAt);
      const to = rec.finishedAt ? Date.parse(rec.finishedAt) : endMs;
      const kind =
        rec.status === 'succeeded'
          ? 'ok'
          : rec.status === 'failed'
            ? 'failed'
            : rec.status === 'waiting' || rec.status === 'running'
              ? 'wait'
              : 'skip';
      out.push({
        phase: step.phase,
        label: step.id,
        from,
        to,
        kind,
        title: `${step.id}: ${step.type} ${rec.status}`,
      });
    }
  }
  return out;
}

/**
 * The phases as a picture: a row per step that ran, grouped in bands by phase, with a bar per run
 * (green done, red failed, blue running, amber waiting, grey skipped) and how long it took, a mark
 * for each alert notification and decision, and a line where the incident closed.
 */
export function renderTimelineSvg(r: AuditRecord, live?: IncidentState, nowMs?: number): string {
  const startMs = Date.parse(r.startedAt);
  const lastEvent = r.entries.reduce((m, en) => Math.max(m, Date.parse(en.at)), startMs);
  const endMs = r.closedAt ? Date.parse(r.closedAt) : Math.max(lastEvent, nowMs ?? lastEvent);
  const span = Math.max(endMs - startMs, 1000);
  const all = bars(r, live, endMs);
  const steps = (r.input?.snapshot.runbook.steps ?? []).filter((st) => all.some((b) => b.label === st.id));
  const rows = PHASES.flatMap((phase) =>
    steps.filter((st) => st.phase === phase).map((st, i) => ({ phase, id: st.id, first: i === 0 })),
  );
  const W = 800;
  const left = 190;
  const right = 70;
  const rowH = 24;
  const top = 22;
  const height = top + Math.max(rows.length, 1) * rowH + 34;
  const x = (t: number): number =>
    left + ((Math.min(Math.max(t, startMs), endMs) - startMs) / span) * (W - left - right);
  const out: string[] = [
    `<svg class="timeline" viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-label="Steps of the incident over time, by phase" xmlns="http://www.w3.org/2000/svg">`,
    `<title>Phases of ${e(r.incidentId)} over ${e(formatMs(span))}</title>`,
  ];
  let band = -1;
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    if (row.first) band++;
    out.push(
      `<rect class="lane${band % 2 ? ' lane-alt' : ''}" x="0" y="${y}" width="${W - right + 60}" height="${rowH}"/>`,
    );
    if (row.first) out.push(`<text class="lane-name" x="6" y="${y + rowH / 2 + 4}">${e(row.phase)}</text>`);
    out.push(
      `<text class="step-name" x="${left - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${e(row.id)}</text>`,
    );
    const mine = all.filter((b) => b.label === row.id);
    mine.forEach((b, k) => {
      const x1 = x(b.from);
      const w = Math.max(x(b.to) - x1, 5);
      const last = k === mine.length - 1;
      out.push(
        `<g class="bar bar-${b.kind}"><title>${e(b.title)}</title><rect x="${x1.toFixed(1)}" y="${y + 5}" width="${w.toFixed(1)}" height="${rowH - 10}" rx="2"/>` +
          (last
            ? `<text x="${(x1 + w + 4).toFixed(1)}" y="${y + rowH / 2 + 4}">${e(formatMs(Math.max(0, b.to - b.from)))}</text>`
            : '') +
          '</g>',
      );
    });
  });
  if (rows.length === 0)
    out.push(`<text class="lane-name" x="${left}" y="${top + 16}">no step has run yet</text>`);
  const axisY = top + Math.max(rows.length, 1) * rowH;
  out.push(`<line class="axis" x1="${left}" y1="${axisY}" x2="${W - right}" y2="${axisY}"/>`);
  for (let k = 0; k <= 4; k++) {
    const t = startMs + (span * k) / 4;
    out.push(
      `<text class="tick" x="${x(t).toFixed(1)}" y="${axisY + 14}" text-anchor="${k === 0 ? 'start' : k === 4 ? 'end' : 'middle'}">+${e(formatMs(t - startMs))}</text>`,
    );
  }
  for (const a of r.alerts.filter((al) => al.notification)) {
    const cx = x(Date.parse(a.at));
    const resolved = a.notification?.alert.status === 'resolved';
    out.push(
      `<g class="mark ${resolved ? 'mark-resolved' : 'mark-alert'}"><title>${e(`${a.at}: alert ${a.notification?.alert.status ?? ''}`)}</title><path d="M${(cx - 6).toFixed(1)} 3 L${(cx + 6).toFixed(1)} 3 L${cx.toFixed(1)} 15 Z"/></g>`,
    );
  }
  for (const d of r.decisions) {
    const cx = x(Date.parse(d.at));
    const who = typeof d.request.identity === 'string' ? d.request.identity : '?';
    out.push(
      `<g class="mark mark-decision"><title>${e(`${d.at}: ${who} ${d.update === 'close' ? 'closed' : d.request.decision === 'reject' ? 'rejected' : 'approved'}`)}</title><path d="M${cx.toFixed(1)} 3 L${(cx + 6).toFixed(1)} 9 L${cx.toFixed(1)} 15 L${(cx - 6).toFixed(1)} 9 Z"/></g>`,
    );
  }
  if (r.closedAt) {
    const cx = x(Date.parse(r.closedAt));
    out.push(
      `<g class="mark mark-end"><title>${e(`${r.closedAt}: closed`)}</title><line x1="${cx.toFixed(1)}" y1="16" x2="${cx.toFixed(1)}" y2="${axisY}"/></g>`,
    );
  }
  out.push(
    `<g class="legend"><text x="0" y="${height - 3}">▼ alert firing  ▼ resolved (green)  ◆ decision  ┆ closed · bars: green done, red failed, blue running, amber waiting</text></g>`,
    '</svg>',
  );
  return out.join('');
}

/** Styles for the summary and timeline, shared by the audit page (inline) and the console (its CSS file). */
export const SUMMARY_CSS = `
.summary .facts{display:flex;flex-wrap:wrap;gap:.75rem;margin:.5rem 0}
.fact{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .75rem;min-width:10rem}
.fact-name{display:block;color:#57606a;font-size:12px}.fact-value{font-size:1.3rem;font-weight:600}
.summary h3{font-size:1rem;margin:1rem 0 .25rem}.summary ul{margin:.25rem 0;padding-left:1.25rem}
.label{display:inline-block;background:#eaeef2;border-radius:3px;padding:0 .35rem;margin:0 .2rem .2rem 0;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
svg.timeline{max-width:100%;height:auto;font:11px system-ui,sans-serif;margin:.5rem 0}
svg.timeline .lane{fill:#f6f8fa}svg.timeline .lane-alt{fill:#eef1f4}
svg.timeline .lane-name{fill:#57606a;font-weight:700;text-transform:uppercase;font-size:10px;letter-spacing:.04em}svg.timeline .step-name{fill:#1b1f24;font-family:ui-monospace,Menlo,Consolas,monospace}
svg.timeline .bar text{fill:#57606a;font-size:10px}
svg.timeline .bar-ok rect{fill:#8ddb9a}svg.timeline .bar-failed rect{fill:#f4a3a3}
svg.timeline .bar-running rect{fill:#9ccbff}svg.timeline .bar-wait rect{fill:#f5d98b}svg.timeline .bar-skip rect{fill:#d0d7de}
svg.timeline .axis{stroke:#8c959f}svg.timeline .tick{fill:#57606a;font-size:10px}
svg.timeline .mark-alert path{fill:#d1242f}svg.timeline .mark-resolved path{fill:#1a7f37}
svg.timeline .mark-decision path{fill:#0969da}svg.timeline .mark-end line{stroke:#6639ba;stroke-width:2;stroke-dasharray:3 2}
svg.timeline .legend text{fill:#57606a;font-size:10px}
`;
