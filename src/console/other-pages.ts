// Login, approvals waiting, the guards (pause, breaker, budgets), the runbook catalog with "what would
// run", and the dev outbox. Rendering only.
import type { OutboxEntry } from '../activities/outbox';
import type { PendingRow } from '../decisions';
import type { GuardStatus } from '../commands/guards';
import { formatDuration } from '../runbook-lang/duration';
import { formatMatcher } from '../runbook-lang/matchers';
import { PHASES, type RunbookSnapshot } from '../runbook-lang/types';
import type { RunbookProblem } from '../runbooks/catalog';
import type { Plan } from '../runbooks/plan';
import { html, type Markup } from './html';
import { csrfField, relative, when, type Viewer } from './layout';
import { incidentHref } from './incident-pages';

export function loginPage(o: { csrf: string; next: string; error?: string; note?: string }): Markup {
  return html`<section class="login">
    <h1>Log in to Rebound</h1>
    ${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ''}
    ${o.note ? html`<p class="notice">${o.note}</p>` : ''}
    <form method="post" action="/login">
      <input type="hidden" name="csrf" value="${o.csrf}" />
      <input type="hidden" name="next" value="${o.next}" />
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required />
      <div class="buttons"><button type="submit">Log in</button></div>
    </form>
    <p class="note">
      Your API token is one of <code>receiver.apiTokens</code> (REBOUND_API_TOKENS); it names you. Under
      <code>rebound dev</code>, open the one-time link it printed.
    </p>
  </section>`;
}

export function messagePage(title: string, message: string, back?: string): Markup {
  return html`<h1>${title}</h1>
    <p class="error" role="alert">${message}</p>
    ${back ? html`<p><a href="${back}">Back</a></p>` : ''}`;
}

/** Whether the approval waits for this viewer: named, in a named group, or open to anyone. */
export function waitsFor(row: PendingRow, identity: string, groups: string[]): boolean {
  if (row.approvedBy.includes(identity)) return false;
  if (row.approvers.length === 0) return true;
  return row.approvers.some((a) => a === identity || (a.startsWith('group:') && groups.includes(a.slice(6))));
}

function approvalRows(rows: PendingRow[], viewer: Viewer, decide: boolean): Markup {
  return html`<div class="table-wrap">
    <table class="cards">
      <thead>
        <tr>
          <th>Incident</th>
          <th>Step</th>
          <th>Question</th>
          <th>Approvers</th>
          <th>Deadline</th>
          ${decide ? html`<th>Decide</th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) =>
            html`<tr>
              <td data-label="Incident">
                <a href="${incidentHref(r.incidentId)}">${r.incidentId}</a><br /><small
                  >${r.runbook} · ${r.target}</small
                >
              </td>
              <td data-label="Step">${r.stepId}</td>
              <td data-label="Question">${r.prompt}</td>
              <td data-label="Approvers">
                ${r.approvers.length ? r.approvers.join(', ') : 'anyone'}${r.approvedBy.length ? html`<br /><small>approved by ${r.approvedBy.join(', ')}</small>` : ''}
              </td>
              <td data-label="Deadline">${when(r.deadline)} <small>${relative(r.deadline)}</small></td>
              ${
                decide
                  ? html`<td data-label="Decide">
                      <form
                        method="post"
                        action="${incidentHref(r.incidentId, '/decide')}"
                        class="decision compact"
                      >
                        ${csrfField(viewer)} <input type="hidden" name="step" value="${r.stepId}" /><input
                          type="hidden"
                          name="back"
                          value="/approvals"
                        />
                        <input name="comment" maxlength="4000" placeholder="comment" aria-label="comment" />
                        <button type="submit" name="decision" value="approve" class="approve">Approve</button>
                        <button type="submit" name="decision" value="reject" class="reject">Reject</button>
                      </form>
                    </td>`
                  : ''
              }
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export function approvalsPage(rows: PendingRow[], unanswered: string[], viewer: Viewer): Markup {
  const mine = rows.filter((r) => waitsFor(r, viewer.identity, viewer.groups));
  const others = rows.filter((r) => !mine.includes(r));
  const canDecide = viewer.role === 'operator';
  return html`<h1>Approvals</h1>
    <h2>Waiting for you (${mine.length})</h2>
    <p class="note">
      You are
      ${viewer.identity}${viewer.groups.length ? `, in ${viewer.groups.join(', ')}` : ''}.${canDecide ? '' : ' As a viewer you can read these but not decide.'}
    </p>
    ${mine.length ? approvalRows(mine, viewer, canDecide) : html`<p class="empty">Nothing waits for you.</p>`}
    <h2>Waiting for others (${others.length})</h2>
    ${others.length ? approvalRows(others, viewer, false) : html`<p class="empty">None.</p>`}
    ${unanswered.length ? html`<p class="note">No worker answered for ${unanswered.length} open incident(s): ${unanswered.join(', ')}.</p>` : ''}`;
}

export function guardsPage(status: GuardStatus, viewer: Viewer, runbooks: string[], notice?: string): Markup {
  const c = status.control;
  const p = status.policy;
  const paused = Object.entries(c?.pausedRunbooks ?? {});
  const op = viewer.role === 'operator';
  return html`<h1>Guards</h1>
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
    <section>
      <h2>Automation</h2>
      ${
        c?.pausedAll
          ? html`<p class="status-banner paused">
              PAUSED: all automation, by ${c.pausedAll.by} at
              ${when(c.pausedAll.at)}${c.pausedAll.reason ? ` — ${c.pausedAll.reason}` : ''}
            </p>`
          : paused.length === 0
            ? html`<p class="status-banner running">Running: nothing is paused.</p>`
            : ''
      }
      ${paused.map(([name, e]) => html`<p class="status-banner paused">PAUSED: runbook ${name}, by ${e.by} at ${when(e.at)}</p>`)}
      ${
        op
          ? html`<div class="forms">
              <form method="post" action="/guards/pause" class="box">
                ${csrfField(viewer)}
                <h3>Pause</h3>
                <p class="note">Incidents still open and record what they would do; nothing is changed.</p>
                <label
                  >Runbook
                  <select name="runbook">
                    <option value="">all runbooks</option>
                    ${runbooks.map((r) => html`<option>${r}</option>`)}
                  </select></label
                >
                <label for="pause-reason">Reason (required)</label
                ><input id="pause-reason" name="reason" required maxlength="500" />
                <div class="buttons"><button type="submit" class="reject">Pause</button></div>
              </form>
              <form method="post" action="/guards/resume" class="box">
                ${csrfField(viewer)}
                <h3>Resume</h3>
                <label
                  >Runbook
                  <select name="runbook">
                    <option value="">all runbooks</option>
                    ${runbooks.map((r) => html`<option>${r}</option>`)}
                  </select></label
                >
                <label class="check"
                  ><input type="checkbox" name="breaker" value="1" /> also close the breaker</label
                >
                <label for="resume-reason">Reason (required)</label
                ><input id="resume-reason" name="reason" required maxlength="500" />
                <div class="buttons"><button type="submit" class="approve">Resume</button></div>
              </form>
            </div>`
          : html`<p class="note">Pausing and resuming need the operator role.</p>`
      }
    </section>
    <section>
      <h2>Breaker</h2>
      ${
        c?.breaker.open
          ? html`<p class="status-banner paused">
              OPEN since ${when(c.breaker.openedAt)}: ${c.breaker.reason ?? ''}. Held back:
              ${c.breaker.refused.length}; closes by itself at ${when(c.breaker.closesAt)} if quiet.
            </p>`
          : html`<p class="status-banner running">Closed.</p>`
      }
      <p>
        Active remediations:
        ${c?.active.length ?? 0}${c?.active.length ? ` (${c.active.map((a) => a.target).join(', ')})` : ''};
        targets seen in the last hour: ${c?.recentTargets ?? 0}.
      </p>
    </section>
    <section>
      <h2>Recent changes</h2>
      ${
        c?.log.length
          ? html`<ul class="log">
              ${[...c.log]
                .reverse()
                .slice(0, 10)
                .map((l) => html`<li>${when(l.at)} ${l.message}</li>`)}
            </ul>`
          : html`<p class="empty">None recorded.</p>`
      }
    </section>
    <section>
      <h2>Budgets</h2>
      <p>
        Each target may be changed ${p.max} time(s) per ${formatDuration(p.windowMs)}; waits between actions
        start at ${formatDuration(p.backoffMs)} and grow ×${p.backoffCoefficient} up to
        ${formatDuration(p.maxBackoffMs)}.
      </p>
      ${
        status.budgets.length === 0
          ? html`<p class="empty">No target has used its budget in the current window.</p>`
          : html`<div class="table-wrap">
              <table class="cards">
                <thead>
                  <tr>
                    <th>Target</th>
                    <th>Left</th>
                    <th>Next allowed</th>
                    <th>Last action</th>
                  </tr>
                </thead>
                <tbody>
                  ${status.budgets.map((b) => {
                    const last = b.actions[b.actions.length - 1];
                    return html`<tr>
                      <td data-label="Target">${b.resource}</td>
                      <td data-label="Left">
                        <meter min="0" max="${b.policy?.max ?? p.max}" value="${b.remaining}"></meter>
                        ${b.remaining} of ${b.policy?.max ?? p.max}
                      </td>
                      <td data-label="Next allowed">${b.nextAllowedAt ? when(b.nextAllowedAt) : 'now'}</td>
                      <td data-label="Last action">
                        ${last ? html`${when(last.at)} by <a href="${incidentHref(last.incidentId)}">${last.incidentId}</a>` : '—'}
                      </td>
                    </tr>`;
                  })}
                </tbody>
              </table>
            </div>`
      }
    </section>`;
}

export interface RunbooksView {
  loaded: RunbookSnapshot[];
  problems: RunbookProblem[];
  /** Files whose content differs from what the receiver loaded at start. */
  changed: string[];
  labels: string;
  plan?: Plan;
  planError?: string;
  dir: string;
}

export function runbooksPage(v: RunbooksView): Markup {
  return html`<h1>Runbooks</h1>
    <p class="note">
      From ${v.dir}, in routing order: an alert goes to the first runbook whose matchers fit its labels.
    </p>
    ${
      v.problems.length
        ? html`<div class="error">
            <p>Lint: ${v.problems.length} problem(s) in the directory now (\`rebound runbooks lint\`):</p>
            <ul>
              ${v.problems.map((p) => html`<li>${p.file}:${p.line}:${p.column}: ${p.message}</li>`)}
            </ul>
          </div>`
        : html`<p class="notice">Lint: every runbook file is valid.</p>`
    }
    ${v.changed.length ? html`<p class="note">Changed on disk since the receiver started (restart to route with them): ${v.changed.join(', ')}</p>` : ''}
    <section class="plan" id="plan">
      <h2>What would run</h2>
      <form method="get" action="/runbooks#plan">
        <label for="labels">An alert's labels, one <code>name=value</code> per line (or a JSON object)</label>
        <textarea id="labels" name="labels" rows="4" placeholder="alertname=ContainerDown&#10;instance=web-1">
${v.labels}</textarea>
        <div class="buttons"><button type="submit">Show the plan</button></div>
      </form>
      ${v.planError ? html`<p class="error">${v.planError}</p>` : ''} ${v.plan ? planView(v.plan) : ''}
    </section>
    ${v.loaded.map(
      (s) =>
        html`<section class="runbook" id="rb-${s.runbook.name}">
          <h2>${s.runbook.name}</h2>
          ${s.runbook.description ? html`<p>${s.runbook.description}</p>` : ''}
          <dl class="meta">
            <dt>File</dt>
            <dd>${s.source}</dd>
            <dt>sha256</dt>
            <dd>${s.hash.slice(0, 16)}…</dd>
            <dt>Matchers</dt>
            <dd>${s.runbook.matchers.map((m) => html`<span class="label">${formatMatcher(m)}</span> `)}</dd>
            <dt>Target</dt>
            <dd>${s.runbook.target ?? 'the alert fingerprint'}</dd>
          </dl>
          <ol class="phases">
            ${PHASES.filter((ph) => s.runbook.steps.some((st) => st.phase === ph)).map(
              (ph) =>
                html`<li>
                  <strong>${ph}</strong>
                  <ul>
                    ${s.runbook.steps
                      .filter((st) => st.phase === ph)
                      .map(
                        (st) =>
                          html`<li>
                            <code>${st.id}</code>
                            ${st.type}${st.description ? html` — ${st.description}` : ''}${st.when ? html` <small>when ${st.when}</small>` : ''}
                          </li>`,
                      )}
                  </ul>
                </li>`,
            )}
          </ol>
        </section>`,
    )}`;
}

function planView(plan: Plan): Markup {
  return html`<div class="plan-result">
    <p>
      ${plan.matches ? html`Runbook <strong>${plan.runbook}</strong> would run` : html`Runbook ${plan.runbook} does <strong>not</strong> match (${plan.matchers.join(', ')})`}${plan.target ? html` for target <code>${plan.target}</code>` : ''}${plan.workflowId ? html` as incident <code>${plan.workflowId}</code>` : ''}.
    </p>
    ${plan.error ? html`<p class="error">${plan.error}</p>` : ''}
    <ol>
      ${plan.steps.map(
        (st) =>
          html`<li>
            <span class="tag">${st.phase}</span>
            <code>${st.id}</code>
            ${st.type}${st.mutating ? html` <span class="tag tag-warn">changes things</span>` : ''}
            <br /><small
              >${
                st.when
                  ? st.when.result === 'unresolved'
                    ? `runs if ${st.when.expression} (known only at run time)`
                    : st.when.result === 'error'
                      ? `condition error: ${st.when.error}`
                      : st.when.result
                        ? `runs (${st.when.expression} is true)`
                        : `skipped (${st.when.expression} is false)`
                  : 'always runs'
              }${st.error ? ` — error: ${st.error}` : st.params !== undefined ? ` — with ${JSON.stringify(st.params)}` : ''}</small
            >
          </li>`,
      )}
    </ol>
  </div>`;
}

export function outboxPage(entries: OutboxEntry[], file: string): Markup {
  return html`<h1>Outbox</h1>
    <p class="note">
      Under <code>rebound dev</code> with no Slack token or SMTP server configured, notifications are kept
      here (${file}) instead of being sent. <strong>None of these were sent.</strong>
    </p>
    ${
      entries.length === 0
        ? html`<p class="empty">No notifications yet.</p>`
        : entries.map(
            (m) =>
              html`<article class="message">
                <p>
                  <span class="tag tag-warn">not sent</span>
                  <strong>${m.channel}</strong
                  >${m.to !== undefined ? ` to ${Array.isArray(m.to) ? m.to.join(', ') : m.to}` : ''} ·
                  ${when(m.at)} ·
                  <a href="${incidentHref(m.incidentId)}">${m.incidentId}</a
                  >${m.stepId ? ` (step ${m.stepId})` : ''}
                </p>
                ${m.subject ? html`<p><strong>${m.subject}</strong></p>` : ''}
                <pre>${m.text}</pre>
              </article>`,
          )
    }`;
}
