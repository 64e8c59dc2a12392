// `rebound alert fire`: sends one test alert to the receiver as an Alertmanager webhook would carry
// it (labels as `amtool alert add` takes them), and prints what became of it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config';
import { labelsFingerprint } from '../receiver/alert-payload';
import type { AlertResult } from '../receiver/intake';
import { printOut } from '../terminal-text';
import { EXIT, UserError, action, configFromOptions, withSettings } from './common';

// Go's zero time: what Alertmanager sends as endsAt for an alert with no end yet.
const NO_END = '0001-01-01T00:00:00Z';

function collectPair(flag: string) {
  return (text: string, previous: Record<string, string> = {}): Record<string, string> => {
    const eq = text.indexOf('=');
    if (eq <= 0) throw new UserError(`${flag} "${text}": expected name=value`);
    return { ...previous, [text.slice(0, eq)]: text.slice(eq + 1) };
  };
}

/** The receiver's base URL: --receiver, else from receiver.host and receiver.port (a wildcard host means loopback). */
export function receiverUrl(config: Config, given: string | undefined): string {
  if (given) return given.replace(/\/+$/, '');
  const host = config.receiver.host;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${config.receiver.port}`;
}

/** Authorization header: --token, then REBOUND_WEBHOOK_TOKEN / config, then the dev token file, then basic auth. */
export function authorization(config: Config, token: string | undefined): string | undefined {
  const fromFile = (): string | undefined => {
    const file = path.resolve(config.dev.dataDir, 'webhook-token');
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  };
  const bearer = token ?? config.receiver.token ?? (config.receiver.basicUser ? undefined : fromFile());
  if (bearer) return `Bearer ${bearer}`;
  if (config.receiver.basicUser)
    return `Basic ${Buffer.from(`${config.receiver.basicUser}:${config.receiver.basicPassword ?? ''}`).toString('base64')}`;
  return undefined;
}

/** The webhook payload (version 4) for one alert. */
export function testAlertPayload(
  labels: Record<string, string>,
  annotations: Record<string, string>,
  resolved: boolean,
  now = new Date(),
): Record<string, unknown> {
  const status = resolved ? 'resolved' : 'firing';
  const alertname = labels.alertname ?? '';
  return {
    version: '4',
    receiver: 'rebound-cli',
    status,
    groupKey: `{}:{alertname=${JSON.stringify(alertname)}}`,
    groupLabels: { alertname },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: '',
    truncatedAlerts: 0,
    alerts: [
      {
        status,
        labels,
        annotations,
        startsAt: now.toISOString(),
        endsAt: resolved ? now.toISOString() : NO_END,
        generatorURL: '',
        fingerprint: labelsFingerprint(labels),
      },
    ],
  };
}

function describeResult(r: AlertResult): string {
  const where = r.workflowId ? ` ${r.workflowId}` : '';
  const runbook = r.runbook ? ` (runbook ${r.runbook})` : '';
  const error = r.error ? `: ${r.error}` : '';
  return `alert ${r.index} ${r.status}: ${r.outcome ?? 'not accepted'}${where}${runbook}${error}`;
}

export function registerAlertCommands(program: Command): void {
  const alert = program.command('alert').description('Work with alerts');
  withSettings(
    alert
      .command('fire')
      .description('Send a test alert to the receiver as Alertmanager would, and print what became of it')
      .requiredOption(
        '--label <name=value>',
        'an alert label; repeat for more (alertname is required)',
        collectPair('--label'),
      )
      .option('--annotation <name=value>', 'an annotation; repeat for more', collectPair('--annotation'))
      .option('--resolved', 'send it as resolved')
      .option('--receiver <url>', 'receiver base URL (default: from receiver.host and receiver.port)')
      .option(
        '--token <token>',
        'bearer token (default: REBOUND_WEBHOOK_TOKEN, then <dataDir>/webhook-token)',
      ),
    [
      'receiver.host',
      'receiver.port',
      'receiver.token',
      'receiver.basicUser',
      'receiver.basicPassword',
      'dev.dataDir',
    ],
  ).action(
    action(async (options: Record<string, unknown>) => {
      const { label, annotation, resolved, receiver, token, ...settings } = options as {
        label: Record<string, string>;
        annotation?: Record<string, string>;
        resolved?: boolean;
        receiver?: string;
        token?: string;
      } & Record<string, unknown>;
      const config = configFromOptions(settings);
      if (!label.alertname)
        throw new UserError('--label alertname=... is required (as for amtool alert add)');
      const url = `${receiverUrl(config, receiver)}/v1/alerts/alertmanager`;
      const auth = authorization(config, token);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
          body: JSON.stringify(testAlertPayload(label, annotation ?? {}, resolved === true)),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (error) {
        throw new UserError(
          `cannot reach the receiver at ${url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
          EXIT.unavailable,
        );
      }
      const text = await response.text();
      let body: { error?: string; alerts?: AlertResult[] } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        body = { error: text.slice(0, 500) };
      }
      for (const r of body.alerts ?? []) printOut(describeResult(r));
      // 503: the receiver could not reach Temporal; anything else not 2xx is a refusal.
      if (!response.ok)
        throw new UserError(
          `the receiver refused the alert (HTTP ${response.status}): ${body.error ?? 'no reason given'}`,
          response.status === 503 ? EXIT.unavailable : EXIT.failed,
        );
    }),
  );
}
