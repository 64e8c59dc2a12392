// The webhook handler of the baselines: a minimal node:http server, as a Temporal user would write
// one without Rebound. It checks the bearer token, parses the Alertmanager body and hands each
// alert to `onAlert` (signalWithStart of the hand-written workflow, or the restart itself for the
// direct baseline), answering 202 once every alert is handed off, 503 when that fails.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MinimalAlert {
  status: string;
  labels: Record<string, string>;
}

export interface MinimalReceiver {
  url: string;
  close(): Promise<void>;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export async function startMinimalReceiver(
  token: string,
  onAlert: (alert: MinimalAlert) => Promise<void>,
): Promise<MinimalReceiver> {
  const expected = digest(`Bearer ${token}`);
  const server = createServer((request, response) => {
    const answer = (status: number): void => {
      response.writeHead(status).end();
    };
    if (
      request.method !== 'POST' ||
      !timingSafeEqual(digest(request.headers.authorization ?? ''), expected)
    ) {
      request.resume();
      answer(request.method !== 'POST' ? 405 : 401);
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let alerts: MinimalAlert[];
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts?: unknown };
        if (!Array.isArray(body.alerts)) throw new Error('no alerts');
        alerts = body.alerts as MinimalAlert[];
      } catch {
        answer(400);
        return;
      }
      Promise.all(alerts.map(onAlert)).then(
        () => answer(202),
        () => answer(503),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
