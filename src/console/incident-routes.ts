// The console's incident routes: the list (straight from visibility, paged, with a count per status),
// one incident's page (its live state when a worker answers, and its audit from the history), the
// history and audit downloads, and replaying the history against the current workflow code.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { buildAudit } from '../audit/model';
import { renderAudit, type AuditFormat } from '../audit/render';
import { INCIDENT_STATUSES, listQuery, parseSince, summarise, type ListFilter } from '../incident-queries';
import type { RequestContext, Router } from '../receiver/http';
import { replay, type ReplayOutcome } from '../replay';
import { stateQuery, type IncidentState, type IncidentStatus } from '../workflows/contract';
import { SA_ALERTNAME } from '../workflows/search-attributes';
import { QUERY_TIMEOUT_MS, noticeFor, type ConsoleApp } from './app';
import { incidentListPage, incidentPage, replayPage, type ListedIncident } from './incident-pages';
import type { Viewer } from './layout';
import { sendDownload } from './respond';

const PAGE_SIZE = 50;

export function registerIncidentRoutes(app: ConsoleApp, router: Router): void {
  // The workflow code, bundled on the first replay and kept for the next.
  let bundle: Promise<{ code: string }> | undefined;

  async function list(ctx: RequestContext, viewer: Viewer): Promise<void> {
    const q = ctx.url.searchParams;
    const raw = {
      status: q.get('status') ?? '',
      runbook: q.get('runbook') ?? '',
      target: q.get('target') ?? '',
      since: q.get('since') ?? '',
    };
    const filter: ListFilter = {};
    let error: string | undefined;
    if ((INCIDENT_STATUSES as readonly string[]).includes(raw.status))
      filter.status = raw.status as IncidentStatus;
    else raw.status = '';
    if (raw.runbook) filter.runbook = raw.runbook;
    if (raw.target) filter.target = raw.target;
    if (raw.since) {
      try {
        filter.since = parseSince(raw.since);
      } catch (e) {
        error = (e as Error).message;
      }
    }
    const page = await listIncidentPage(
      app.client,
      app.config.temporal.namespace,
      filter,
      q.get('page') ?? undefined,
    );
    const counts: Record<string, number> = {};
    await Promise.all(
      INCIDENT_STATUSES.map(async (status) => {
        counts[status] = (await app.client.workflow.count(listQuery({ ...filter, status }))).count;
      }),
    );
    await app.render(ctx, viewer, {
      title: 'Incidents',
      nav: 'incidents',
      live: true,
      body: incidentListPage({
        rows: page.rows,
        counts,
        filter: raw,
        runbooks: app.runbookNames(),
        ...(page.next ? { next: page.next } : {}),
        paged: q.has('page'),
        ...(error ? { error } : {}),
      }),
    });
  }

  async function show(ctx: RequestContext, viewer: Viewer): Promise<void> {
    const id = ctx.params.id ?? '';
    const handle = app.client.workflow.getHandle(id);
    const description = await handle.describe();
    const execution = description.status.name;
    let live: IncidentState | undefined;
    let liveNote: string | undefined;
    if (execution === 'RUNNING') {
      try {
        live = await app.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(stateQuery));
      } catch (error) {
        liveNote = `No worker answered for the live state (${(error as Error).message.split('\n')[0] ?? ''}); what follows is from the history.`;
      }
    }
    const history = await app.client.workflow.getHandle(id, description.runId).fetchHistory();
    const record = buildAudit(history, id);
    const done = ctx.url.searchParams.get('done');
    const temporalUiUrl = app.config.console.temporalUiUrl;
    await app.render(ctx, viewer, {
      title: id,
      nav: 'incidents',
      live: execution === 'RUNNING',
      body: incidentPage(
        {
          record,
          execution,
          runId: description.runId,
          ...(live ? { live } : {}),
          ...(liveNote ? { liveNote } : {}),
          ...(temporalUiUrl ? { temporalUiUrl } : {}),
          namespace: app.config.temporal.namespace,
          ...(done ? { notice: noticeFor(done) } : {}),
        },
        viewer,
      ),
    });
  }

  async function download(ctx: RequestContext, format: AuditFormat | 'txt' | 'history'): Promise<void> {
    const id = ctx.params.id ?? '';
    const history = await app.client.workflow.getHandle(id).fetchHistory();
    const base = id.replace(/[^A-Za-z0-9._-]+/g, '_');
    if (format === 'history') {
      sendDownload(
        ctx.res,
        historyToJSON(history),
        'application/json; charset=utf-8',
        `${base}.history.json`,
      );
      return;
    }
    const f: AuditFormat = format === 'txt' ? 'text' : format;
    const types: Record<AuditFormat, string> = {
      text: 'text/plain; charset=utf-8',
      md: 'text/markdown; charset=utf-8',
      json: 'application/json; charset=utf-8',
      html: 'text/html; charset=utf-8',
    };
    sendDownload(ctx.res, renderAudit(buildAudit(history, id), f), types[f], `${base}.audit.${format}`);
  }

  async function replayIncident(ctx: RequestContext, viewer: Viewer): Promise<void> {
    const id = ctx.params.id ?? '';
    const history = await app.client.workflow.getHandle(id).fetchHistory();
    bundle ??= import('@temporalio/worker').then(({ bundleWorkflowCode, DefaultLogger }) =>
      bundleWorkflowCode({
        workflowsPath: path.join(__dirname, '..', 'workflows', 'index.ts'),
        logger: new DefaultLogger('ERROR'),
      }),
    );
    const [outcome] = (await replay([{ name: id, workflowId: id, history }], {
      workflowBundle: await bundle,
    })) as [ReplayOutcome];
    await app.render(ctx, viewer, {
      title: `Replay of ${id}`,
      nav: 'incidents',
      body: replayPage(id, outcome),
    });
  }

  router.add('GET', '/incidents', app.page(list));
  router.add('GET', '/incidents/:id', app.page(show));
  router.add(
    'GET',
    '/incidents/:id/history.json',
    app.page((ctx) => download(ctx, 'history')),
  );
  for (const format of ['md', 'json', 'html', 'txt'] as const)
    router.add(
      'GET',
      `/incidents/:id/audit.${format}`,
      app.page((ctx) => download(ctx, format)),
    );
  router.add('POST', '/incidents/:id/replay', app.action({ operator: false }, replayIncident));
}

const dataConverter = loadDataConverter();

/** One page of incidents straight from visibility, with the token for the next page. */
export async function listIncidentPage(
  client: Client,
  namespace: string,
  filter: ListFilter,
  pageToken?: string,
  pageSize = PAGE_SIZE,
): Promise<{ rows: ListedIncident[]; next?: string }> {
  const response = await client.workflowService.listWorkflowExecutions({
    namespace,
    query: listQuery(filter),
    pageSize,
    ...(pageToken ? { nextPageToken: Buffer.from(pageToken, 'base64url') } : {}),
  });
  const rows = await Promise.all(
    response.executions.map(async (raw) => {
      const info = await executionInfoFromRaw(raw, dataConverter, raw, namespace);
      return { ...summarise(info), alertname: info.typedSearchAttributes.get(SA_ALERTNAME) ?? '' };
    }),
  );
  const next = response.nextPageToken?.length
    ? Buffer.from(response.nextPageToken).toString('base64url')
    : undefined;
  return { rows, ...(next ? { next } : {}) };
}
