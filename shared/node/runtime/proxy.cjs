#!/usr/bin/env node
// The loopback TCP proxy of one environment of the process runtime (shared/node/runtime/process-runtime.ts): it owns
// the environment's public port and forwards each new connection to the release the environment's `current` link
// names, at the private port its instance file (`instances/<hash>.json`) records, or to one of the release's extra
// replicas (`instances/replicas.json`), in turn. Switching a release is therefore one
// atomic rename (of `current`, or of the instance file on a restart in place), and a connection accepted before the
// switch keeps its upstream until it closes, so no request fails while the old release drains.
// Plain JavaScript (no TypeScript loader) so that it starts in tens of milliseconds and stays small: it is the one
// process per environment that must outlive workers and CLIs. Usage: node proxy.cjs <envDir> <port>
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const [envDir, portText] = process.argv.slice(2);
const port = Number(portText);
if (!envDir || !Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: node proxy.cjs <envDir> <port>\n');
  process.exit(2);
}
const log = (message) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);

let cached = { key: '', port: 0 };
/** The private port of the current release, re-read when the link or the instance file changed. */
function releasePort(target) {
  const instanceFile = path.join(envDir, 'instances', `${path.basename(target)}.json`);
  const stat = fs.statSync(instanceFile);
  const key = `${target}|${stat.ino}|${stat.mtimeMs}`;
  if (key !== cached.key) cached = { key, port: JSON.parse(fs.readFileSync(instanceFile, 'utf8')).port };
  return cached.port;
}

let replicas = { key: '', ports: [] };
/** The private ports of the current release's extra replicas (instances/replicas.json, written on scale). */
function replicaPorts(target) {
  const file = path.join(envDir, 'instances', 'replicas.json');
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    return [];
  }
  const key = `${target}|${stat.ino}|${stat.mtimeMs}`;
  if (key !== replicas.key) {
    const hash = path.basename(target);
    replicas = { key, ports: JSON.parse(fs.readFileSync(file, 'utf8')).filter((r) => r.hash === hash).map((r) => r.port) };
  }
  return replicas.ports;
}

let turn = 0;
/** Where the next connection goes: the release's process and its replicas in turn. */
function upstreamPort() {
  const target = fs.readlinkSync(path.join(envDir, 'current'));
  const ports = [releasePort(target), ...replicaPorts(target)];
  turn = (turn + 1) % ports.length;
  return ports[turn];
}

const server = net.createServer((client) => {
  let target;
  try {
    target = upstreamPort();
  } catch (error) {
    log(`no current release to forward to: ${error.message}`);
    client.destroy();
    return;
  }
  const upstream = net.connect({ port: target, host: '127.0.0.1' });
  upstream.setNoDelay(true);
  client.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  upstream.once('error', (error) => {
    log(`upstream 127.0.0.1:${target}: ${error.code ?? error.message}`);
    close();
  });
  client.once('error', close);
  upstream.once('close', close);
  client.once('close', close);
});
server.once('error', (error) => {
  log(`cannot listen on 127.0.0.1:${port}: ${error.code ?? error.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => log(`forwarding 127.0.0.1:${port} for ${envDir}`));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
