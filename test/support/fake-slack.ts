// A small local Slack: it speaks the Web API methods Rebound uses (chat.postMessage, chat.update,
// chat.postEphemeral, conversations.history/replies with metadata, auth.test and conversations.list) over real HTTP,
// and can answer 429 or drop an answer.
// Slack itself cannot be reached from these machines.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredMessage {
  ts: string;
  channel: string;
  text: string;
  blocks?: unknown;
  thread_ts?: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

export const TOKEN = 'xoxb-test-token';
export const CHANNEL_ID = 'C0INCIDENT';

/** A small Slack: channels by id (and #name alias), messages with metadata, 429 and dropped answers on demand. */
export class FakeSlack {
  messages: StoredMessage[] = [];
  /** Messages only one user sees (chat.postEphemeral): never stored in the channel. */
  ephemerals: Array<{ channel: string; user: string; text: string }> = [];
  calls: string[] = [];
  rateLimitNext = 0;
  dropAnswerNext = 0;
  private seq = 0;
  private server = http.createServer((req, res) => void this.handle(req, res));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.messages = [];
    this.ephemerals = [];
    this.calls = [];
    this.rateLimitNext = 0;
    this.dropAnswerNext = 0;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const method = (req.url ?? '').replace(/^\/api\//, '');
    this.calls.push(method);
    const send = (body: Record<string, unknown>): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send({ ok: false, error: 'invalid_auth' });
    if (this.rateLimitNext > 0) {
      this.rateLimitNext -= 1;
      res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return;
    }
    // Methods without a channel (what `rebound doctor` calls).
    if (method === 'auth.test')
      return send({
        ok: true,
        url: 'https://fake.slack.test/',
        team: 'Fake',
        user: 'rebound',
        bot_id: 'B0REBOUND',
      });
    if (method === 'conversations.list')
      return send({
        ok: true,
        channels: [{ id: CHANNEL_ID, name: 'incidents' }],
        response_metadata: { next_cursor: '' },
      });
    const channel = form.get('channel') === '#incidents' ? CHANNEL_ID : form.get('channel');
    if (channel !== CHANNEL_ID) return send({ ok: false, error: 'channel_not_found' });
    const json = (name: string): unknown => {
      const value = form.get(name);
      return value === null ? undefined : (JSON.parse(value) as unknown);
    };
    const withMetadata = form.get('include_all_metadata') === 'true';
    const shown = (m: StoredMessage): StoredMessage => (withMetadata ? m : { ...m, metadata: undefined });
    switch (method) {
      case 'chat.postMessage': {
        this.seq += 1;
        const message: StoredMessage = {
          ts: `1700000000.${String(this.seq).padStart(6, '0')}`,
          channel,
          text: form.get('text') ?? '',
          blocks: json('blocks'),
          thread_ts: form.get('thread_ts') ?? undefined,
          metadata: json('metadata') as StoredMessage['metadata'],
        };
        this.messages.push(message);
        if (this.dropAnswerNext > 0) {
          // Delivered, but the answer never arrives: exactly the case that tempts a second post.
          this.dropAnswerNext -= 1;
          req.socket.destroy();
          return;
        }
        return send({ ok: true, channel, ts: message.ts, message });
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.ts === form.get('ts'));
        if (!message) return send({ ok: false, error: 'message_not_found' });
        message.text = form.get('text') ?? '';
        message.blocks = json('blocks');
        return send({ ok: true, channel, ts: message.ts });
      }
      case 'chat.postEphemeral': {
        const user = form.get('user');
        if (!user) return send({ ok: false, error: 'user_not_in_channel' });
        this.ephemerals.push({ channel, user, text: form.get('text') ?? '' });
        return send({
          ok: true,
          message_ts: `1700000001.${String(this.ephemerals.length).padStart(6, '0')}`,
        });
      }
      case 'conversations.history': {
        const top = this.messages.filter((m) => !m.thread_ts).reverse();
        return send({ ok: true, messages: top.map(shown), has_more: false });
      }
      case 'conversations.replies': {
        const ts = form.get('ts');
        const thread = this.messages.filter((m) => m.ts === ts || m.thread_ts === ts);
        return send({ ok: true, messages: thread.map(shown), has_more: false });
      }
      default:
        return send({ ok: false, error: 'unknown_method' });
    }
  }
}
