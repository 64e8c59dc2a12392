// The console's runbook catalog: the runbooks loaded, whether the files lint clean now (and which
// changed since the receiver started), and "what would run" for labels pasted into a form.
import { alertFromObject } from '../commands/runbooks';
import type { RequestContext, Router } from '../receiver/http';
import { checkRunbookDir } from '../runbooks/catalog';
import { planIncident } from '../runbooks/plan';
import type { ConsoleApp } from './app';
import type { Viewer } from './layout';
import { runbooksPage } from './other-pages';

export function registerRunbookRoutes(app: ConsoleApp, router: Router): void {
  async function show(ctx: RequestContext, viewer: Viewer): Promise<void> {
    const dir = app.config.runbooks.dir;
    const now = checkRunbookDir(dir);
    const loaded = app.deps.catalog.runbooks;
    const changed = now.runbooks
      .filter((s) => !loaded.some((l) => l.source === s.source && l.hash === s.hash))
      .map((s) => s.source);
    const labels = (ctx.url.searchParams.get('labels') ?? '').slice(0, 8000);
    let plan;
    let planError: string | undefined;
    if (labels.trim()) {
      try {
        const alert = alertFromObject({ labels: parseLabels(labels) });
        const routed = app.deps.catalog.route(alert.labels);
        if (routed) plan = planIncident(routed, alert);
        else
          planError =
            'No runbook matches these labels: Rebound would answer the webhook and open no incident.';
      } catch (error) {
        planError = (error as Error).message;
      }
    }
    await app.render(ctx, viewer, {
      title: 'Runbooks',
      nav: 'runbooks',
      body: runbooksPage({
        loaded,
        problems: now.problems,
        changed,
        labels,
        ...(plan ? { plan } : {}),
        ...(planError ? { planError } : {}),
        dir,
      }),
    });
  }

  router.add('GET', '/runbooks', app.page(show));
}

/** Labels pasted into the plan form: a JSON object, or name=value per line (or comma separated). */
export function parseLabels(text: string): Record<string, string> {
  const trimmed = text.trim();
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new Error(`the labels are not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('give the labels as a JSON object');
    const source = (parsed as Record<string, unknown>).labels ?? parsed;
    for (const [k, v] of Object.entries(source as Record<string, unknown>)) out[k] = String(v);
    return out;
  }
  for (const line of trimmed.split(/[\n,]/)) {
    if (!line.trim()) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`"${line.trim()}" is not name=value`);
    out[line.slice(0, eq).trim()] = line
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return out;
}
