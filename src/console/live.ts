// Live updates for the console: one poller asks Temporal's visibility for a fingerprint of the
// incidents (counts by status, the running ones with their phase and history length, the latest
// changes) at console.pollInterval while anyone watches, and tells every subscriber over
// server-sent events when it changes. Subscribers share the poll, so a hundred open tabs cost one.
import type { ServerResponse } from 'node:http';
import type { Client } from '@temporalio/client';
import { INCIDENT_STATUSES, listQuery } from '../incident-queries';
import { logger } from '../log';
import { SA_PHASE, SA_STATUS } from '../workflows/search-attributes';
import { SECURITY_HEADERS } from './respond';

const log = logger('console');

export async function incidentsFingerprint(client: Client): Promise<string> {
  const parts: string[] = [];
  const counts = await Promise.all(
    INCIDENT_STATUSES.map((status) => client.workflow.count(listQuery({ status }))),
  );
  parts.push(counts.map((c) => c.count).join(','));
  const lists = [
    { query: `${listQuery({})} AND ExecutionStatus = 'Running'`, limit: 100 },
    { query: listQuery({}), limit: 20 },
  ];
  for (const { query, limit } of lists) {
    let n = 0;
    for await (const info of client.workflow.list({ query, pageSize: limit })) {
      const sa = info.typedSearchAttributes;
      parts.push(
        `${info.workflowId}:${info.runId}:${sa.get(SA_STATUS) ?? ''}:${sa.get(SA_PHASE) ?? ''}:${info.historyLength}:${info.closeTime?.getTime() ?? ''}`,
      );
      if (++n >= limit) break;
    }
  }
  return parts.join('|');
}

export class LiveFeed {
  private readonly subscribers = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private version = 0;
  private polling = false;
  private ticks = 0;

  constructor(
    private readonly fingerprint: () => Promise<string>,
    private readonly intervalMs: number,
  ) {}

  subscribe(res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\n\n`);
    this.subscribers.add(res);
    res.on('close', () => {
      this.subscribers.delete(res);
      if (this.subscribers.size === 0) this.stop();
    });
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
  }

  get size(): number {
    return this.subscribers.size;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  close(): void {
    for (const res of this.subscribers) res.end();
    this.subscribers.clear();
    this.stop();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const now = await this.fingerprint();
      if (this.last !== undefined && now !== this.last) {
        this.version++;
        this.broadcast(`event: change\ndata: ${this.version}\n\n`);
      }
      this.last = now;
      // A comment now and then keeps proxies from closing an idle stream.
      if (++this.ticks % 10 === 0) this.broadcast(': keep-alive\n\n');
    } catch (error) {
      log.warn('live update poll failed', { error: (error as Error).message });
    } finally {
      this.polling = false;
    }
  }

  private broadcast(text: string): void {
    for (const res of this.subscribers) res.write(text);
  }
}
