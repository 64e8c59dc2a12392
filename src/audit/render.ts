// Renders an audit record as plain text, Markdown, JSON or one self-contained HTML page. Everything
// that came from an alert, a runbook or a person is data: escaped for Markdown and HTML.
import { escapeHtml } from '../html-escape';
import type { IncidentState, StepRecord } from '../workflows/contract';
import { SUMMARY_CSS, renderSummaryHtml, renderTimelineSvg } from './summary';
import {
  activityLines,
  describeMessage,
  formatMs,
  oneLine,
  type ActivityAudit,
  type AuditRecord,
} from './model';

export type AuditFormat = 'text' | 'md' | 'json' | 'html';
export const AUDIT_FORMATS: readonly AuditFormat[] = ['text', 'md', 'json', 'html'];

interface Section {
  title: string;
  /** Rows, each a list of cells; the last cell may carry detail lines. */
  rows: Array<{ cells: string[]; detail?: string[] }>;
  headers: string[];
  empty: string;
}

function outcomeLine(r: AuditRecord): string {
  const o = r.outcome;
  if (o.state) {
    const s = o.state;
    return `${s.status}: ${s.resolution ?? ''}${o.kind === 'failed' && o.error ? ` (workflow failed: ${o.error.message})` : ''}`;
  }
  switch (o.kind) {
    case 'running':
      return 'still open (no close event in this history)';
    case 'failed':
      return `failed: ${o.error?.type ?? ''}: ${o.error?.message ?? ''}`;
    case 'terminated':
      return `terminated${o.reason ? `: ${o.reason}` : ''}`;
    case 'continued as new':
      return `continued as new run ${o.newRunId ?? '?'} (see that run's history for the rest)`;
    default:
      return o.kind;
  }
}

function header(r: AuditRecord): Array<[string, string]> {
  return [
    ['Incident', r.incidentId],
    ['Workflow', `${r.workflowId}${r.runId ? ` (run ${r.runId})` : ''}`],
    ...(r.continuedFromRunId ? [['Continued from', `run ${r.continuedFromRunId}`] as [string, string]] : []),
    ['Runbook', r.runbook.name],
    ['Runbook file', r.runbook.source],
    ['Runbook sha256', r.runbook.hash],
    ['Target', r.targetKey],
    ['Dry run', r.dryRun ? 'yes' : 'no'],
    ['Triggered by', r.triggeredBy ?? '-'],
    ['Opened', r.startedAt],
    ['Closed', r.closedAt ?? 'still open'],
    ['Outcome', outcomeLine(r)],
    ['History', `${r.events} events`],
  ];
}

function stepStatus(r: AuditRecord, id: string, runs: ActivityAudit[]): string {
  const rec: StepRecord | undefined = r.outcome.state?.steps.find((s) => s.id === id);
  if (rec) return rec.status === 'pending' && r.closedAt ? 'not run' : rec.status;
  const last = runs[runs.length - 1];
  if (!last) return 'not run (per history)';
  return last.outcome === 'completed' ? 'succeeded' : last.outcome;
}

function sections(r: AuditRecord): Section[] {
  const timeline: Section = {
    title: 'Timeline',
    headers: ['Time', 'Event', 'Kind', 'What happened'],
    empty: 'no events',
    rows: r.entries.map((e) => ({ cells: [e.at, `#${e.eventId}`, e.kind, e.text], detail: e.detail })),
  };
  const steps: Section = {
    title: 'Steps',
    headers: ['Step', 'Type', 'Phase', 'Status'],
    empty: 'the runbook has no steps',
    rows: (r.input?.snapshot.runbook.steps ?? []).map((step) => {
      const runs = r.activities.filter((a) => a.purpose === 'step' && a.stepId === step.id);
      const rec = r.outcome.state?.steps.find((s) => s.id === step.id);
      const detail: string[] = [];
      for (const run of runs) detail.push(...activityLines(run));
      for (const d of r.decisions.filter((d) => {
        const res = d.response as { stepId?: unknown } | undefined;
        return res?.stepId === step.id || d.request.stepId === step.id;
      }))
        detail.push(
          `decision at ${d.at}: ${r.entries.find((e) => e.eventId === d.eventId)?.text ?? d.update}`,
        );
      if (rec?.error && runs.length === 0) detail.push(`error: ${rec.error.type}: ${rec.error.message}`);
      if (rec?.note) detail.push(`note: ${rec.note}`);
      if (rec?.output !== undefined && runs.length === 0) detail.push(`output: ${oneLine(rec.output)}`);
      return { cells: [step.id, step.type, step.phase, stepStatus(r, step.id, runs)], detail };
    }),
  };
  const approvals: Section = {
    title: 'Approvals and closes',
    headers: ['Time', 'Decision', 'Identity', 'Channel', 'Comment'],
    empty: 'none',
    rows: r.decisions.map((d) => {
      const response = (d.response ?? {}) as { stepId?: unknown };
      const what =
        d.update === 'decide'
          ? `${d.request.decision === 'reject' ? 'rejected' : 'approved'} step ${typeof response.stepId === 'string' ? response.stepId : '?'}`
          : d.update;
      return {
        cells: [d.at, what, str(d.request.identity), str(d.request.channel), str(d.request.comment)],
        detail: [
          `update ${d.update} ${d.updateId} from client ${d.sender}${d.completedAt ? `, completed ${d.completedAt}` : ''}`,
          ...(d.error ? [`failed: ${d.error.message}`] : []),
        ],
      };
    }),
  };
  const messages: Section = {
    title: 'Messages sent',
    headers: ['Time', 'Activity', 'Message', 'Result'],
    empty: 'none',
    rows: r.activities
      .filter((a) => a.purpose === 'message' || a.activityType === 'notify')
      .map((a) => {
        return {
          cells: [
            a.closedAt ?? a.scheduledAt,
            a.stepId && a.purpose === 'step' ? `${a.activityType} (step ${a.stepId})` : a.activityType,
            describeMessage(a),
            a.outcome === 'completed'
              ? oneLine(a.result ?? null)
              : `${a.outcome}${a.error ? `: ${a.error.message}` : ''}`,
          ],
          detail: messageText(a),
        };
      }),
  };
  const timers: Section = {
    title: 'Timers',
    headers: ['Started', 'Purpose', 'Duration', 'End'],
    empty: 'none',
    rows: r.timers.map((t) => ({
      cells: [
        t.startedAt,
        t.purpose,
        formatMs(t.durationMs),
        t.end && t.endedAt
          ? `${t.end} after ${formatMs(Date.parse(t.endedAt) - Date.parse(t.startedAt))}`
          : 'still running',
      ],
    })),
  };
  return [timeline, steps, approvals, messages, timers];
}

function messageText(a: ActivityAudit): string[] {
  const input = (a.input ?? {}) as { params?: { text?: unknown }; threadText?: unknown };
  const text = typeof input.params?.text === 'string' ? input.params.text : undefined;
  return text ? text.split('\n').map((l) => `| ${l}`) : [];
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined ? '' : oneLine(value);
}

export function renderText(r: AuditRecord): string {
  const out: string[] = [`Incident audit: ${r.incidentId}`, ''];
  for (const [k, v] of header(r)) out.push(`${`${k}:`.padEnd(16)}${v}`);
  for (const s of sections(r)) {
    out.push('', s.title);
    if (s.rows.length === 0) out.push(`  ${s.empty}`);
    for (const row of s.rows) {
      out.push(`  ${row.cells.filter((c) => c !== '').join('  ')}`);
      for (const d of row.detail ?? []) out.push(`      ${d}`);
    }
  }
  return out.join('\n') + '\n';
}

function mdEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#~])/g, '\\$1')
    .replace(/\n/g, '<br>');
}

export function renderMarkdown(r: AuditRecord): string {
  const out: string[] = [`# Incident audit: ${mdEscape(r.incidentId)}`, '', '| | |', '| --- | --- |'];
  for (const [k, v] of header(r)) out.push(`| ${k} | ${mdEscape(v)} |`);
  for (const s of sections(r)) {
    out.push('', `## ${s.title}`, '');
    if (s.rows.length === 0) {
      out.push(`_${s.empty}_`);
      continue;
    }
    out.push(`| ${s.headers.join(' | ')} |`, `| ${s.headers.map(() => '---').join(' | ')} |`);
    for (const row of s.rows) {
      const cells = row.cells.map(mdEscape);
      const detail = (row.detail ?? []).map(mdEscape);
      if (detail.length > 0)
        cells[cells.length - 1] = `${cells[cells.length - 1] ?? ''}<br>${detail.join('<br>')}`;
      out.push(`| ${cells.join(' | ')} |`);
    }
  }
  return out.join('\n') + '\n';
}

export function renderJson(r: AuditRecord): string {
  return JSON.stringify(r, null, 2) + '\n';
}

export const AUDIT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:76rem;padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dl.meta dt{font-weight:600;color:#57606a}dl.meta dd{margin:0;font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #eaeef2}
th{background:#f6f8fa;font-weight:600}td.t{white-space:nowrap;font-family:ui-monospace,Menlo,Consolas,monospace;color:#57606a}
.detail{margin:.2rem 0 0;padding:0;list-style:none;color:#57606a;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word}
.kind{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:12px;background:#eaeef2}
.k-alert{background:#fff1e5}.k-approval,.k-close{background:#ddf4ff}.k-step{background:#dafbe1}.k-outcome{background:#fbefff}.k-timer{background:#f6f8fa}
.empty{color:#57606a;font-style:italic}
@media print{body{margin:0;max-width:none}}
.table-wrap{overflow-x:auto}
`;

/** The Timeline, Steps, Approvals, Messages and Timers sections as HTML tables (escaped). */
export function renderSectionsHtml(r: AuditRecord): string {
  const e = escapeHtml;
  const out: string[] = [];
  for (const s of sections(r)) {
    const id = s.title.toLowerCase().replace(/[^a-z]+/g, '-');
    out.push(`<section id="${id}">`, `<h2>${e(s.title)}</h2>`);
    if (s.rows.length === 0) {
      out.push(`<p class="empty">${e(s.empty)}</p>`, '</section>');
      continue;
    }
    out.push(
      '<div class="table-wrap"><table>',
      `<thead><tr>${s.headers.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead>`,
      '<tbody>',
    );
    for (const row of s.rows) {
      const cells = row.cells.map((c, i) => {
        const last = i === row.cells.length - 1;
        const detail =
          last && row.detail && row.detail.length > 0
            ? `<ul class="detail">${row.detail.map((d) => `<li>${e(d)}</li>`).join('')}</ul>`
            : '';
        const isTime = i === 0 && /^\d{4}-\d\d-\d\dT/.test(c);
        const content =
          s.title === 'Timeline' && i === 2 ? `<span class="kind k-${e(c)}">${e(c)}</span>` : e(c);
        return `<td${isTime ? ' class="t"' : ''}>${content}${detail}</td>`;
      });
      out.push(`<tr>${cells.join('')}</tr>`);
    }
    out.push('</tbody>', '</table></div>', '</section>');
  }
  return out.join('\n');
}

/** The facts about the incident (id, runbook, target, times, outcome) as a definition list. */
export function renderFactsHtml(r: AuditRecord): string {
  const e = escapeHtml;
  return [
    '<dl class="meta">',
    ...header(r).map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`),
    '</dl>',
  ].join('\n');
}

/** Summary, phases picture and every section: the body the audit page and the console share. */
export function renderAuditBodyHtml(r: AuditRecord, live?: IncidentState, nowMs?: number): string {
  return [
    renderSummaryHtml(r, live),
    '<section id="phases"><h2>Phases</h2>',
    renderTimelineSvg(r, live, nowMs),
    '</section>',
    renderSectionsHtml(r),
  ].join('\n');
}

export function renderHtml(r: AuditRecord): string {
  const e = escapeHtml;
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // No scripts, styles or images from anywhere: the page is evidence and must render offline.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Incident audit: ${e(r.incidentId)}</title>`,
    `<style>${AUDIT_CSS}${SUMMARY_CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>Incident audit: ${e(r.incidentId)}</h1>`,
    renderFactsHtml(r),
    renderAuditBodyHtml(r),
    `<footer><p class="empty">Built by rebound audit from the Temporal event history of ${e(r.workflowId)} (${r.events} events).</p></footer>`,
    '</body>',
    '</html>',
  ];
  return out.join('\n') + '\n';
}

export function renderAudit(r: AuditRecord, format: AuditFormat): string {
  switch (format) {
    case 'md':
      return renderMarkdown(r);
    case 'json':
      return renderJson(r);
    case 'html':
      return renderHtml(r);
    default:
      return renderText(r);
  }
}
