// A small HTTP layer for the receiver: routing, bounded body reading and JSON answers. Bad input is
// always a 4xx with a message; a handler's unexpected error is logged and answered without details.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { logger } from '../log';

const log = logger('http');

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** Reads the whole body, refusing more than limitBytes with 413. */
  body(limitBytes: number): Promise<Buffer>;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) {
      reject(
        new HttpError(
          413,
          `request body of ${declared} bytes is larger than the limit of ${limitBytes} bytes`,
        ),
      );
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limitBytes) {
        failed = true;
        reject(new HttpError(413, `request body is larger than the limit of ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => failed || resolve(Buffer.concat(chunks)));
    req.on(
      'error',
      (error) => failed || reject(new HttpError(400, `could not read the request body: ${error.message}`)),
    );
  });
}

export class Router {
  private readonly routes: Route[] = [];
  /** Run when the server closes: long-lived responses (server-sent events) end here. */
  readonly onClose: Array<() => void> = [];

  /** Adds a route; `:name` segments become params. */
  add(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        if (segment.startsWith(':')) {
          names.push(segment.slice(1));
          return '([^/]+)';
        }
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://receiver');
    } catch {
      sendJson(res, 400, { error: 'malformed request URL' });
      return;
    }
    const matching = this.routes.filter((r) => r.pattern.test(url.pathname));
    if (matching.length === 0) {
      sendJson(res, 404, { error: `no such endpoint: ${url.pathname}` });
      req.resume();
      return;
    }
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      const allowed = matching.map((r) => r.method).join(', ');
      sendJson(
        res,
        405,
        { error: `${req.method ?? '?'} is not allowed on ${url.pathname}; use ${allowed}` },
        { allow: allowed },
      );
      req.resume();
      return;
    }
    const match = route.pattern.exec(url.pathname) as RegExpExecArray;
    const params: Record<string, string> = {};
    let badParam = false;
    route.names.forEach((name, i) => {
      try {
        params[name] = decodeURIComponent(match[i + 1] ?? '');
      } catch {
        badParam = true;
      }
    });
    if (badParam) {
      sendJson(res, 400, { error: 'malformed percent-encoding in the URL path' });
      return;
    }
    try {
      await route.handler({ req, res, url, params, body: (limit) => readBody(req, limit) });
    } catch (error) {
      if (error instanceof HttpError) {
        sendJson(res, error.status, { error: error.message }, error.headers);
      } else {
        log.error('unexpected error handling request', { path: url.pathname, error });
        sendJson(res, 500, { error: 'internal error; see the receiver log' });
      }
      if (!req.complete) req.resume();
    }
  }
}

/**
 * Promises still running (request handlers, work a handler left behind). Shutdown waits for them,
 * so nothing calls Temporal after its connection is closed: a gRPC retry timer firing on a closed
 * channel throws "Channel has been shut down" as an uncaught exception and kills the process.
 */
export class InFlight {
  private readonly running = new Set<Promise<void>>();

  /** Follows the promise until it settles; returns it unchanged. */
  track<T>(promise: Promise<T>): Promise<T> {
    const settled: Promise<void> = promise.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return promise;
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves once everything tracked, including what was added while waiting, has settled. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(router: Router, host: string, port: number): Promise<Listening> {
  const requests = new InFlight();
  const server = http.createServer((req, res) => void requests.track(router.handle(req, res)));
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} on ${host} is already in use: choose another with --receiver-port / REBOUND_PORT`,
            )
          : error,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${actualPort}`,
    port: actualPort,
    // A handler whose client went away keeps running until its Temporal calls end (each has a
    // deadline); closing waits for it too. In this order: until every connection is closed, bytes
    // already received on one can still start a handler, so draining first could miss it.
    close: async () => {
      for (const end of router.onClose) end(); // live streams end, so their connections can close
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await requests.drain();
    },
  };
}
