// The page frame every console page shares: header with navigation, who is logged in (and as what),
// how many approvals wait for them, and the logout form. Pages put their content in <main>.
import type { Role, Session } from './session';
import { html, type Markup } from './html';

export interface Viewer {
  session: Session;
  identity: string;
  role: Role;
  groups: string[];
  csrf: string;
}

export interface PageOptions {
  title: string;
  viewer?: Viewer;
  /** Approvals waiting for the viewer; undefined when unknown. */
  pending?: number;
  /** Which navigation entry is current. */
  nav?: 'incidents' | 'approvals' | 'guards' | 'runbooks' | 'outbox';
  /** Reload <main> when incidents change (server-sent events). */
  live?: boolean;
  showOutbox?: boolean;
  body: Markup;
}

/** The hidden CSRF field every form carries. */
export function csrfField(viewer: Viewer): Markup {
  return html`<input type="hidden" name="csrf" value="${viewer.csrf}" />`;
}

export function layout(o: PageOptions): Markup {
  const link = (key: PageOptions['nav'], href: string, label: string, extra?: Markup): Markup =>
    html`<a href="${href}" ${o.nav === key ? html` aria-current="page"` : ''}>${label}${extra}</a>`;
  const badge =
    o.pending !== undefined
      ? html` <span
          class="badge${o.pending > 0 ? ' badge-hot' : ''}"
          id="pending-count"
          title="approvals waiting for you"
          >${o.pending}</span
        >`
      : html``;
  const v = o.viewer;
  return html`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${o.title} · Rebound</title>
        <link rel="stylesheet" href="/static/console.css" />
        <script src="/static/console.js" defer></script>
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/incidents">Rebound</a>
          ${
            v
              ? html`<nav>
                    ${link('incidents', '/incidents', 'Incidents')}
                    ${link('approvals', '/approvals', 'Approvals', badge)}
                    ${link('guards', '/guards', 'Guards')} ${link('runbooks', '/runbooks', 'Runbooks')}
                    ${o.showOutbox ? link('outbox', '/outbox', 'Outbox') : ''}
                  </nav>
                  <div class="who">
                    <span class="identity">${v.identity}</span>
                    <span class="role role-${v.role}">${v.role}</span>
                    <form method="post" action="/logout" class="inline">
                      ${csrfField(v)}<button type="submit" class="link">Log out</button>
                    </form>
                  </div>`
              : ''
          }
        </header>
        <main id="live" ${o.live ? html` data-live="1"` : ''}>${o.body}</main>
      </body>
    </html> `;
}

/** "in 9m", "3m ago": a time relative to now, for deadlines and ages. */
export function relative(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const d = t - now;
  const abs = Math.abs(d);
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)}s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)}m`
        : abs < 86_400_000
          ? `${Math.round(abs / 3_600_000)}h`
          : `${Math.round(abs / 86_400_000)}d`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

/** A time shown as text a person reads, with the exact ISO time on hover. */
export function when(iso: string | undefined): Markup {
  if (!iso) return html`—`;
  return html`<time datetime="${iso}" title="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
}
