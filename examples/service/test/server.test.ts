import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { handler } from '../src/app';

let healthy: Server;
let unhealthy: Server;
const base = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const listen = (server: Server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

before(async () => {
  healthy = createServer(handler({ version: '1.2.3', healthy: true }, 'test'));
  unhealthy = createServer(handler({ version: '1.2.4', healthy: false }, 'test'));
  await Promise.all([listen(healthy), listen(unhealthy)]);
});
after(() => {
  healthy.close();
  unhealthy.close();
});

test('/health answers 200 with the version', async () => {
  const response = await fetch(`${base(healthy)}/health`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { status: 'ok', version: '1.2.3' });
});

test('an unhealthy release answers 503 on /health', async () => {
  const response = await fetch(`${base(unhealthy)}/health`);
  assert.equal(response.status, 503);
});

test('/ names the environment and an unknown route is 404', async () => {
  const root = await (await fetch(`${base(healthy)}/`)).json();
  assert.equal(root.environment, 'test');
  assert.equal((await fetch(`${base(healthy)}/nope`)).status, 404);
});
