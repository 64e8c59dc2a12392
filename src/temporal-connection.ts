// Connections to Temporal from the configuration: plain, TLS/mTLS, or API key (Temporal Cloud).
import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { Config } from './config';

function readPem(file: string | undefined, what: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`Cannot read ${what} at ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function tlsOptions(t: Config['temporal']): ConnectionOptions['tls'] {
  const cert = readPem(t.tlsCert, 'temporal.tlsCert');
  const key = readPem(t.tlsKey, 'temporal.tlsKey');
  const ca = readPem(t.tlsCa, 'temporal.tlsCa');
  if (!t.tls && !cert && !ca && !t.apiKey) return undefined;
  return {
    ...(t.tlsServerName ? { serverNameOverride: t.tlsServerName } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
  };
}

export function clientConnectionOptions(config: Config): ConnectionOptions {
  const t = config.temporal;
  return {
    address: t.address,
    tls: tlsOptions(t),
    ...(t.apiKey ? { apiKey: t.apiKey, metadata: { 'temporal-namespace': t.namespace } } : {}),
    connectTimeout: '10s',
  };
}

export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect(clientConnectionOptions(config));
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** A client that connects on first use, so a receiver can start (and answer /readyz) before Temporal is up. */
export function lazyClient(config: Config): Client {
  const connection = Connection.lazy(clientConnectionOptions(config));
  return new Client({ connection, namespace: config.temporal.namespace });
}

export async function connectWorkerConnection(config: Config): Promise<NativeConnection> {
  const t = config.temporal;
  const options: NativeConnectionOptions = {
    address: t.address,
    tls: tlsOptions(t),
    ...(t.apiKey ? { apiKey: t.apiKey, metadata: { 'temporal-namespace': t.namespace } } : {}),
  };
  return NativeConnection.connect(options);
}
