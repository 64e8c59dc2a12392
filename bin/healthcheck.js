#!/usr/bin/env node
// The container health check (Dockerfile HEALTHCHECK, docker-compose.yml). Plain JavaScript, no tsx,
// so it costs little every 15 seconds. It looks at what the container runs (PID 1's arguments):
// - `serve`: the receiver answers GET /healthz with 200;
// - `worker`: Temporal's frontend at TEMPORAL_ADDRESS accepts a connection (a worker that has lost
//   its process exits, and the container with it);
// - anything else (a one-off command): healthy.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');

const TIMEOUT_MS = 4000;

function role() {
  const override = process.argv[2];
  if (override) return override;
  try {
    const args = fs.readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    return args.find((a) => a === 'serve' || a === 'worker') ?? 'other';
  } catch {
    return 'other';
  }
}

function done(ok, message) {
  if (!ok) console.error(`unhealthy: ${message}`);
  process.exit(ok ? 0 : 1);
}

function checkReceiver() {
  const port = Number(process.env.REBOUND_PORT || 9097);
  const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: TIMEOUT_MS }, (res) => {
    res.resume();
    done(res.statusCode === 200, `GET /healthz answered ${res.statusCode}`);
  });
  req.on('timeout', () => req.destroy(new Error('timed out')));
  req.on('error', (error) => done(false, `GET /healthz: ${error.message}`));
}

function checkWorker() {
  const address = process.env.TEMPORAL_ADDRESS || '127.0.0.1:7233';
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  const socket = net.connect({ host, port, timeout: TIMEOUT_MS }, () => {
    socket.end();
    done(true, '');
  });
  socket.on('timeout', () => socket.destroy(new Error('timed out')));
  socket.on('error', (error) => done(false, `Temporal at ${address}: ${error.message}`));
}

const which = role();
if (which === 'serve') checkReceiver();
else if (which === 'worker') checkWorker();
else done(true, '');
