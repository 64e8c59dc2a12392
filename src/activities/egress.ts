// Where probes and calls may go. URLs and hosts come from runbooks, and through templates from alert
// labels and annotations, which whoever can send an alert controls: every outbound probe or call is
// checked against the egress.allow setting after templating, inside the activity. Entries are host
// names (`api.example.com`), suffix wildcards (`*.example.com`), IP addresses and CIDR blocks
// (`10.0.0.0/8`, `[fd00::]/8`), each with an optional `:port`, or `*` for anywhere. Matching is plain
// string and subnet comparison (net.BlockList), never a regular expression.
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { badParameters, requireString } from './errors';

export const EGRESS_DENIED = 'EgressDenied';
export const DEFAULT_EGRESS_ALLOW = 'localhost,127.0.0.0/8,[::1]';

interface Rule {
  /** `*` = any port. */
  port: number | '*';
  host?: { exact: string } | { suffix: string } | { any: true };
  subnet?: net.BlockList;
}

export interface EgressPolicy {
  /** Throws EgressDenied (non-retryable) unless host:port may be reached. */
  checkHost(what: string, host: string, port: number): void;
  /** Parses an absolute http(s) URL without user info and checks its host and port. */
  checkUrl(what: string, value: unknown, name?: string): URL;
}

/** Splits `host:port`, `[v6]:port`, `v6` and `cidr:port` entries. */
function splitPort(entry: string): [string, string | undefined] {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) return [entry, undefined];
    const rest = entry.slice(close + 1);
    const host = entry.slice(1, close) + (rest.startsWith('/') ? (rest.split(':')[0] ?? '') : '');
    const portAt = rest.lastIndexOf(':');
    return [host, portAt >= 0 ? rest.slice(portAt + 1) : undefined];
  }
  const colons = entry.split(':').length - 1;
  if (colons === 1) {
    const at = entry.indexOf(':');
    return [entry.slice(0, at), entry.slice(at + 1)];
  }
  return [entry, undefined]; // no port, or a bare IPv6 address
}

/** Parses the allow-list; returns the problems (for configuration errors) alongside the rules. */
export function parseEgressAllow(text: string): { rules: Rule[]; problems: string[] } {
  const rules: Rule[] = [];
  const problems: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [hostPart, portPart] = splitPort(entry);
    let port: number | '*' = '*';
    if (portPart !== undefined && portPart !== '*') {
      const n = Number(portPart);
      if (!/^\d{1,5}$/.test(portPart) || n < 1 || n > 65535) {
        problems.push(`"${entry}": the port must be a number from 1 to 65535 or *`);
        continue;
      }
      port = n;
    }
    const host = hostPart.toLowerCase();
    if (host === '*') {
      rules.push({ port, host: { any: true } });
      continue;
    }
    const slash = host.indexOf('/');
    if (slash >= 0 || net.isIP(host) !== 0) {
      const address = slash >= 0 ? host.slice(0, slash) : host;
      const family = net.isIP(address);
      const bits = slash >= 0 ? Number(host.slice(slash + 1)) : family === 4 ? 32 : 128;
      const max = family === 4 ? 32 : 128;
      if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > max) {
        problems.push(`"${entry}" is not an IP address or CIDR block (e.g. 10.0.0.0/8, [fd00::]/8)`);
        continue;
      }
      const subnet = new net.BlockList();
      subnet.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
      rules.push({ port, subnet });
      continue;
    }
    const name = host.startsWith('*.') ? host.slice(2) : host;
    if (!isHostName(name)) {
      problems.push(`"${entry}" is not a host name, *.domain, IP address or CIDR block`);
      continue;
    }
    rules.push({ port, host: host.startsWith('*.') ? { suffix: `.${name}` } : { exact: name } });
  }
  return { rules, problems };
}

function isHostName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => {
    if (label.length === 0 || label.length > 63) return false;
    for (const c of label) if (!/[a-z0-9_-]/.test(c)) return false;
    return true;
  });
}

function normaliseHost(host: string): string {
  const h = host.toLowerCase();
  const unbracketed = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
  return unbracketed.endsWith('.') ? unbracketed.slice(0, -1) : unbracketed;
}

function allowed(rules: readonly Rule[], host: string, port: number): boolean {
  const h = normaliseHost(host);
  const family = net.isIP(h);
  return rules.some((rule) => {
    if (rule.port !== '*' && rule.port !== port) return false;
    if (rule.subnet) return family !== 0 && rule.subnet.check(h, family === 4 ? 'ipv4' : 'ipv6');
    if (!rule.host) return false;
    if ('any' in rule.host) return true;
    if (family !== 0) return false;
    if ('exact' in rule.host) return h === rule.host.exact;
    return h.endsWith(rule.host.suffix) && h.length > rule.host.suffix.length;
  });
}

/**
 * The worker's egress policy. `alsoAllowed` are URLs the operator configured (the Prometheus URL):
 * their host and port are allowed whatever the list says.
 */
export function createEgressPolicy(
  allowText: string,
  alsoAllowed: Array<string | undefined> = [],
): EgressPolicy {
  const { rules, problems } = parseEgressAllow(allowText);
  if (problems.length > 0) throw new Error(`egress.allow: ${problems.join('; ')}`);
  for (const configured of alsoAllowed) {
    if (!configured) continue;
    try {
      const url = new URL(configured);
      rules.push(...parseEgressAllow(`${url.hostname}:${url.port || defaultPort(url)}`).rules);
    } catch {
      // a bad configured URL is reported where it is used
    }
  }
  const deny = (what: string, host: string, port: number): never => {
    throw ApplicationFailure.nonRetryable(
      `${what}: ${host}:${port} is not an allowed target; allow it in egress.allow (REBOUND_EGRESS_ALLOW) on the worker`,
      EGRESS_DENIED,
    );
  };
  const policy: EgressPolicy = {
    checkHost(what, host, port) {
      if (!allowed(rules, host, port)) deny(what, host, port);
    },
    checkUrl(what, value, name = 'url') {
      const text = requireString(value, name);
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw badParameters(`${name} is not an absolute URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw badParameters(`${name} must be http:// or https://, got ${url.protocol}`);
      if (url.username !== '' || url.password !== '')
        throw badParameters(
          `${name} must not carry a user or password (user@host); name a secret in a header instead`,
        );
      policy.checkHost(what, url.hostname, Number(url.port || defaultPort(url)));
      return url;
    },
  };
  return policy;
}

function defaultPort(url: URL): number {
  return url.protocol === 'https:' ? 443 : 80;
}
