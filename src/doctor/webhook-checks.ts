// The doctor's receiver checks: the webhook's authentication is configured, the receiver is ready
// (it reaches Temporal), and it accepts the credentials this process has. The probe sends an empty
// payload, which an authenticated receiver refuses with 400: nothing is ever started.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { receiverAuthProblems, type Config } from '../config';
import { ok, problem, warning, why, type CheckResult } from './check-result';

function receiverBase(config: Config): string {
  const host = config.receiver.host;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${config.receiver.port}`;
}

/** Credentials this process would send, and where they come from (never the values). */
function webhookCredentials(config: Config): { header?: string; source: string } {
  const r = config.receiver;
  if (r.token) return { header: `Bearer ${r.token}`, source: 'bearer token (REBOUND_WEBHOOK_TOKEN)' };
  if (r.basicUser)
    return {
      header: `Basic ${Buffer.from(`${r.basicUser}:${r.basicPassword ?? ''}`).toString('base64')}`,
      source: 'basic auth (REBOUND_WEBHOOK_USER/PASSWORD)',
    };
  return { source: '' };
}

/** The webhook answers, and its authentication is configured (and accepts the credentials we have). */
export async function checkWebhook(config: Config): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const base = receiverBase(config);
  let credentials = webhookCredentials(config);
  const devToken = path.resolve(config.dev.dataDir, 'webhook-token');
  const tokenFile = devToken;
  if (config.receiver.auth === 'none')
    results.push(
      warning(
        'webhook auth',
        'off (REBOUND_WEBHOOK_AUTH=none): anyone who reaches the receiver can open incidents',
        "set REBOUND_WEBHOOK_TOKEN (and Alertmanager's http_config.authorization) unless a proxy in front authenticates",
      ),
    );
  else if (!credentials.header && existsSync(tokenFile)) {
    // `rebound dev` makes its own token when none is configured.
    credentials = {
      header: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`,
      source: `bearer token from ${tokenFile} (made by rebound dev)`,
    };
    results.push(ok('webhook auth', credentials.source));
  } else {
    const authProblems = receiverAuthProblems(config);
    if (authProblems.length > 0)
      results.push(
        problem(
          'webhook auth',
          'required, but no credentials are configured: `rebound serve` refuses to start',
          `set REBOUND_WEBHOOK_TOKEN (bearer) or REBOUND_WEBHOOK_USER and REBOUND_WEBHOOK_PASSWORD; rebound dev makes one in ${devToken}`,
        ),
      );
    else results.push(ok('webhook auth', credentials.source));
  }

  const url = `${base}/v1/alerts/alertmanager`;
  try {
    const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3000) });
    await ready.text();
    if (!ready.ok) {
      results.push(
        problem(
          'webhook',
          `the receiver at ${base} answers, but GET /readyz is ${ready.status}: it cannot reach Temporal`,
          'give the receiver the same TEMPORAL_* settings as the worker, and see the temporal check above',
        ),
      );
      return results;
    }
    // An empty payload: authenticated requests get 400 (bad body) and nothing is started; wrong credentials get 401.
    const probe = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(credentials.header ? { authorization: credentials.header } : {}),
      },
      body: '{}',
      signal: AbortSignal.timeout(3000),
    });
    await probe.text();
    if (probe.status === 401)
      results.push(
        problem(
          'webhook',
          `${url} refuses ${credentials.header ? 'the configured credentials' : 'requests without credentials'} (401)`,
          `use the receiver's token here and in Alertmanager (REBOUND_WEBHOOK_TOKEN; rebound dev keeps it in ${devToken})`,
        ),
      );
    else results.push(ok('webhook', `${url} answers and accepts the configured credentials`));
  } catch (error) {
    results.push(
      problem(
        'webhook',
        `nothing answers at ${base}: ${why(error)}`,
        'start the receiver (`rebound serve`, or `rebound dev`), or set REBOUND_HOST/REBOUND_PORT to where it listens',
      ),
    );
  }
  return results;
}
