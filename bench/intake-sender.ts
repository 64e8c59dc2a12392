// The intake benchmark's webhook sender, in its own process as Alertmanager is: posts one-alert
// webhooks to the receiver over keep-alive connections and reports each one's latency to the
// parent over IPC. In the benchmark's own process, the HTTP client's CPU (about as much as the
// receiver's) was charged to the receiver, and on a loaded machine that process's CPU share, not
// Temporal, bounded the repeated-target rate.
import http from 'node:http';
import { amAlert, webhookBody } from './intake';

export interface SendRequest {
  type: 'send';
  id: number;
  url: string;
  token: string;
  count: number;
  concurrency: number;
  /** The instance label of alert i: `${prefix}-${i}` for distinct targets, else prefix itself. */
  prefix: string;
  distinct: boolean;
}

export interface SendResult {
  type: 'sent';
  id: number;
  seconds: number;
  latencies: number[];
  errors: number;
}

// A fresh pool for every run: the receiver closes connections idle for 5 s (keepAliveTimeout), and
// a socket it closes just as a run's first request goes out fails that request ("socket hang up").
let agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(url: URL, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function send(request: SendRequest): Promise<SendResult> {
  agent.destroy();
  agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(request.url);
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const runners = Array.from({ length: Math.min(request.concurrency, request.count) }, async () => {
    for (let i = next++; i < request.count; i = next++) {
      const instance = request.distinct ? `${request.prefix}-${i}` : request.prefix;
      const body = webhookBody([amAlert({ alertname: 'BenchIntake', instance })]);
      const t0 = performance.now();
      const status = await post(url, request.token, body).catch(() => 0);
      latencies.push(performance.now() - t0);
      if (status !== 202) errors++;
    }
  });
  await Promise.all(runners);
  return { type: 'sent', id: request.id, seconds: (performance.now() - started) / 1000, latencies, errors };
}

process.on('message', (message: SendRequest | 'stop') => {
  if (message === 'stop') {
    agent.destroy();
    process.exit(0);
  }
  void send(message).then((result) => process.send?.(result));
});
process.send?.({ type: 'ready' });
