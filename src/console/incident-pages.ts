// The incidents list (filters, counts by status, paging) and one incident's page (summary, phases,
// steps, approvals, messages, timers, live state, decisions, downloads, replay). Rendering only:
// the data is fetched by routes.ts.
import type { AuditRecord } from '../audit/model';
import { renderAuditBodyHtml, renderFactsHtml } from '../audit/render';
import type { IncidentSummary } from '../incident-queries';
import type { ReplayOutcome } from '../replay';
import type { IncidentState } from '../workflows/contract';
import { html, trusted, type Markup } from './html';
import { csrfField, relative, when, type Viewer } from './layout';

export interface ListedIncident extends IncidentSummary {
  alertname: string;
}

export interface ListView {
  rows: ListedIncident[];
  counts: Record<string, number>;
  filter: { status: string; runbook: string; target: string; since: string };
  runbooks: string[];
  next?: string;
  /** A page other than the first is shown. */
  paged: boolean;
  error?: string;
}

export function incidentHref(id: string, suffix = ''): string {
  return `/incidents/${encodeURIComponent(id)}${suffix}`;
}

function statusBadge(status: string): Markup {
  return html`<span class="status status-${status || 'unknown'}">${status || 'unknown'}</span>`;
}

function query(filter: ListView['filter'], extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filter, ...extra })) if (v) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function incidentListPage(view: ListView): Markup {
  const f = view.filter;
  const statuses = ['open', 'escalated', 'resolved', 'failed'];
  const total = Object.values(view.counts).reduce((a, b) => a + b, 0);
  return html`<h1>Incidents</h1>
    <div class="counts" id="counts">
      <a class="count${f.status === '' ? ' current' : ''}" href="/incidents${query({ ...f, status: '' })}"
        ><span>all</span> <strong>${total}</strong></a
      >
      ${statuses.map(
        (s) =>
          html`<a
            class="count count-${s}${f.status === s ? ' current' : ''}"
            href="/incidents${query({ ...f, status: s })}"
            ><span>${s}</span> <strong>${view.counts[s] ?? 0}</strong></a
          >`,
      )}
    </div>
    <form method="get" action="/incidents" class="filters">
      <label
        >Status
        <select name="status">
          <option value="">any</option>
          ${statuses.map((s) => html`<option${f.status === s ? html` selected` : ''}>${s}</option>`)}
        </select></label
      >
      <label
        >Runbook
        <select name="runbook">
          <option value="">any</option>
          ${view.runbooks.map((r) => html`<option${f.runbook === r ? html` selected` : ''}>${r}</option>`)}
        </select></label
      >
      <label>Target <input name="target" value="${f.target}" placeholder="exact target" /></label>
      <label>Since <input name="since" value="${f.since}" placeholder="24h, 7d or a time" /></label>
      <button type="submit">Filter</button>
    </form>
    ${view.error ? html`<p class="error">${view.error}</p>` : ''}
    ${
      view.rows.length === 0
        ? html`<p class="empty">
            No incidents${f.status || f.runbook || f.target || f.since ? ' match these filters' : ' yet'}.
          </p>`
        : html`<div class="table-wrap">
            <table class="incidents cards">
              <thead>
                <tr>
                  <th>Status</th>
                  <th>Incident</th>
                  <th>Alert</th>
                  <th>Runbook</th>
                  <th>Target</th>
                  <th>Phase</th>
                  <th>Opened</th>
                  <th>Closed</th>
                </tr>
              </thead>
              <tbody>
                ${view.rows.map(
                  (r) =>
                    html`<tr>
                      <td data-label="Status">
                        ${statusBadge(r.status)}${r.dryRun ? html` <span class="tag">dry run</span>` : ''}
                      </td>
                      <td data-label="Incident"><a href="${incidentHref(r.id)}">${r.id}</a></td>
                      <td data-label="Alert">${r.alertname}</td>
                      <td data-label="Runbook">${r.runbook}</td>
                      <td data-label="Target">${r.target}</td>
                      <td data-label="Phase">${r.phase}</td>
                      <td data-label="Opened">${when(r.opened)} <small>${relative(r.opened)}</small></td>
                      <td data-label="Closed">
                        ${r.closed ? when(r.closed) : html`<span class="empty">open</span>`}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
    <p class="paging">
      ${view.paged ? html`<a href="/incidents${query(f)}">First page</a>` : ''}${
        view.next
          ? html` <a rel="next" href="/incidents${query(f, { page: view.next })}">Next page →</a>`
          : ''
      }
    </p>`;
}

export interface IncidentView {
  record: AuditRecord;
  execution: string;
  runId: string;
  live?: IncidentState;
  liveNote?: string;
  temporalUiUrl?: string;
  namespace: string;
  notice?: string;
}

function decisionForm(view: IncidentView, viewer: Viewer): Markup {
  const p = view.live?.pendingApproval;
  if (!p) return html``;
  const id = view.record.incidentId;
  const details = html`<details class="approval-details">
    <summary>
      Details: ${p.approvedBy.length ? `approved by ${p.approvedBy.join(', ')} so far` : 'who may approve'}
    </summary>
    <dl class="meta">
      <dt>Step</dt>
      <dd>${p.stepId}</dd>
      <dt>Approvers</dt>
      <dd>
        ${p.approvers.length ? p.approvers.join(', ') : 'anyone'}${p.minApprovers > 1 ? ` (${p.minApprovers} needed)` : ''}
      </dd>
      <dt>Approved by</dt>
      <dd>${p.approvedBy.length ? p.approvedBy.join(', ') : 'nobody yet'}</dd>
      <dt>Waiting since</dt>
      <dd>${when(p.since)} (${relative(p.since)})</dd>
      <dt>Deadline</dt>
      <dd>${when(p.deadline)}</dd>
    </dl>
  </details>`;
  // The question and the buttons come first: on a phone at 3 a.m. they are what the page is for.
  const body = html`<section class="decide" id="decide">
    <h2>Waiting for approval</h2>
    <p class="prompt">${p.prompt}</p>
    <p class="deadline">
      Step <code>${p.stepId}</code> · decide ${relative(p.deadline)} (${when(p.deadline)})
    </p>
    ${
      viewer.role === 'operator'
        ? html`<form method="post" action="${incidentHref(id, '/decide')}" class="decision">
            ${csrfField(viewer)}<input type="hidden" name="step" value="${p.stepId}" />
            <label for="comment">Comment (recorded in the audit)</label>
            <textarea id="comment" name="comment" rows="2" maxlength="4000" placeholder="why"></textarea>
            <div class="buttons">
              <button type="submit" name="decision" value="approve" class="approve">Approve</button>
              <button type="submit" name="decision" value="reject" class="reject">Reject</button>
            </div>
          </form>`
        : html`<p class="note">You are a viewer: deciding needs the operator role (console.roles).</p>`
    }
    ${details}
  </section>`;
  return body;
}

function closeForm(view: IncidentView, viewer: Viewer): Markup {
  const s = view.live;
  if (!s || s.status !== 'escalated' || view.execution !== 'RUNNING' || viewer.role !== 'operator')
    return html``;
  return html`<section class="close" id="close">
    <h2>Close this escalated incident</h2>
    <form method="post" action="${incidentHref(view.record.incidentId, '/close')}">
      ${csrfField(viewer)}
      <label for="close-comment">Comment</label>
      <textarea
        id="close-comment"
        name="comment"
        rows="2"
        maxlength="4000"
        placeholder="what was done by hand"
      ></textarea>
      <div class="buttons"><button type="submit">Close incident</button></div>
    </form>
  </section>`;
}

export function incidentPage(view: IncidentView, viewer: Viewer): Markup {
  const r = view.record;
  const s = view.live ?? r.outcome.state;
  const id = r.incidentId;
  const ui = view.temporalUiUrl
    ? `${view.temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(view.namespace)}/workflows/${encodeURIComponent(r.workflowId)}/${encodeURIComponent(view.runId)}/history`
    : undefined;
  const status = s?.status ?? (view.execution === 'RUNNING' ? 'open' : view.execution.toLowerCase());
  return html`<p class="crumbs"><a href="/incidents">Incidents</a> /</p>
    <h1 class="incident-title">${statusBadge(status)} <span class="id">${id}</span></h1>
    ${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
    ${view.liveNote ? html`<p class="note">${view.liveNote}</p>` : ''}
    ${
      view.execution === 'RUNNING'
        ? html`<p class="live-state">
            Live: phase
            <strong>${s?.phase ?? '?'}</strong
            >${s?.currentStep ? html`, step <strong>${s.currentStep}</strong>` : ''}; alert
            ${s?.alertFiring ? 'firing' : 'resolved'}; ${s?.notifications ?? 0} notification(s).
          </p>`
        : ''
    }
    ${decisionForm(view, viewer)} ${closeForm(view, viewer)}
    ${trusted(renderAuditBodyHtml(r, view.live, Date.now()))}
    <section id="record">
      <h2>Record</h2>
      ${trusted(renderFactsHtml(r))}
      <p class="downloads">
        Download: <a href="${incidentHref(id, '/history.json')}">history (JSON)</a> ·
        <a href="${incidentHref(id, '/audit.md')}">audit (Markdown)</a> ·
        <a href="${incidentHref(id, '/audit.json')}">audit (JSON)</a> ·
        <a href="${incidentHref(id, '/audit.html')}">audit (HTML)</a>
        ${ui ? html` · <a href="${ui}" rel="noopener">open in the Temporal Web UI</a>` : ''}
      </p>
      <form method="post" action="${incidentHref(id, '/replay')}" class="inline">
        ${csrfField(viewer)} <button type="submit">Replay against the current code</button>
      </form>
    </section>`;
}

export function replayPage(id: string, outcome: ReplayOutcome): Markup {
  return html`<p class="crumbs">
      <a href="/incidents">Incidents</a> / <a href="${incidentHref(id)}">${id}</a> /
    </p>
    <h1>Replay of ${id}</h1>
    ${
      outcome.ok
        ? html`<p class="notice">
            The current workflow code replays all ${outcome.events} events of this history without a
            difference (${outcome.ms} ms).
          </p>`
        : html`<p class="error">
              The current code diverges from this
              history${outcome.divergingEventId !== undefined ? html` at event ${outcome.divergingEventId} (${outcome.divergingEvent ?? '?'})` : ''}:
              deploying it would break this incident if it were still running.
            </p>
            <pre class="detail">${outcome.error ?? ''}</pre>`
    }
    <p><a href="${incidentHref(id)}">Back to the incident</a></p>`;
}
