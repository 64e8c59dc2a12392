// The doctor's runbook check (the directory lints clean), and what the runbooks need from the world
// (local Docker, Docker hosts, Slack channels, email, Prometheus), so each integration check knows
// whether a missing piece is a problem or only a warning.
import path from 'node:path';
import type { Config } from '../config';
import { checkRunbookDir } from '../runbooks/catalog';
import type { RunbookSnapshot } from '../runbook-lang/types';
import { routesToDockerHost } from '../steps/registry';
import { ok, problem, warning, type CheckResult } from './check-result';

/** What the runbooks need from the world, so each integration check knows whether it matters. */
export interface RunbookNeeds {
  docker: boolean;
  dockerHosts: string[];
  slackChannels: string[];
  email: boolean;
  prometheus: boolean;
}

export function runbookNeeds(runbooks: RunbookSnapshot[], config: Config): RunbookNeeds {
  const hosts = new Set<string>();
  const channels = new Set<string>();
  let docker = false;
  let email = Boolean(config.safety.summaryEmail);
  let prometheus = false;
  if (config.safety.summarySlackChannel) channels.add(config.safety.summarySlackChannel);
  for (const { runbook } of runbooks) {
    const defaultChannel = runbook.notifications?.slack?.channel;
    for (const step of runbook.steps) {
      if (routesToDockerHost(step.type)) {
        if (step.host) hosts.add(step.host);
        else docker = true;
      }
      if (step.type === 'prometheus.query' && typeof step.with.url !== 'string') prometheus = true;
      if (step.type === 'notify' && step.with.channel === 'email') email = true;
      if (step.type === 'notify' && step.with.channel === 'slack') {
        const to = step.with.to;
        // A templated channel is only known per alert.
        if (typeof to === 'string' && !to.includes('{{')) channels.add(to);
        else if (to === undefined && defaultChannel) channels.add(defaultChannel);
      }
    }
    if (defaultChannel) channels.add(defaultChannel);
    if (runbook.notifications?.email) email = true;
  }
  return {
    docker,
    dockerHosts: [...hosts].sort(),
    slackChannels: [...channels].sort(),
    email,
    prometheus,
  };
}

export function checkRunbooks(config: Config): { result: CheckResult; runbooks: RunbookSnapshot[] } {
  const dir = config.runbooks.dir;
  const { runbooks, problems, files } = checkRunbookDir(dir);
  if (problems.length > 0) {
    const first = problems[0]!;
    const where = first.file === dir ? dir : `${path.join(dir, first.file)}:${first.line}:${first.column}`;
    return {
      result: problem(
        'runbooks',
        `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dir}; first: ${where}: ${first.message}`,
        'run `rebound runbooks lint` for every problem and fix them (rebound serve and rebound dev refuse to start until then)',
      ),
      runbooks,
    };
  }
  if (files.length === 0)
    return {
      result: warning(
        'runbooks',
        `no runbooks in ${dir}: every alert will be "unmatched"`,
        'add YAML runbooks there, or point REBOUND_RUNBOOKS at your runbooks directory',
      ),
      runbooks,
    };
  return {
    result: ok(
      'runbooks',
      `${runbooks.length} valid in ${dir} (${runbooks.map((r) => r.runbook.name).join(', ')})`,
    ),
    runbooks,
  };
}
