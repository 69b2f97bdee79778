/**
 * Proves the real toolchain works: the pinned Temporal dev server, the Java time-skipping test server and a real
 * PostgreSQL server, all started from the binaries that `node deploy/bootstrap.mjs --postgres` set up.
 */
import fs from 'node:fs';
import { Client } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv, createTimeSkippingEnv, readToolchain } from '../helpers/toolchain';
import { createDatabase, startPostgresServer, uniqueDatabaseName } from '../helpers/postgres-server';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('toolchain', () => {
  test('toolchain.json records the pinned versions', () => {
    const tc = readToolchain();
    expect(tc.versions?.temporalCli).toBe('1.5.1');
    expect(tc.versions?.temporalServer).toBe('1.29.1');
    expect(fs.existsSync(tc.temporalCli)).toBe(true);
    expect(fs.existsSync(tc.testServer)).toBe(true);
  });

  describe('Temporal dev server (Temporal CLI, existing-path)', () => {
    let env: TestWorkflowEnvironment | undefined;
    afterAll(async () => {
      await env?.teardown();
    });

    test('starts and answers GetSystemInfo and DescribeNamespace', async () => {
      env = await createDevServerEnv();
      expect(env.supportsTimeSkipping).toBe(false);
      const info = await env.connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBe('1.29.1');
      expect(info.capabilities).toBeTruthy();
      const ns = await env.connection.workflowService.describeNamespace({ namespace: 'default' });
      expect(ns.namespaceInfo?.name).toBe('default');
    });
  });

  describe('Java time-skipping test server (wrapper, existing-path)', () => {
    let env: TestWorkflowEnvironment | undefined;
    afterAll(async () => {
      await env?.teardown();
    });

    test('starts and skips a day of server time in (real) seconds', async () => {
      env = await createTimeSkippingEnv();
      expect(env.supportsTimeSkipping).toBe(true);
      const before = await env.currentTimeMs();
      const realStart = Date.now();
      await env.sleep('1 day');
      const realElapsed = Date.now() - realStart;
      const after = await env.currentTimeMs();
      expect(after - before).toBeGreaterThanOrEqual(DAY_MS);
      expect(realElapsed).toBeLessThan(30_000);
    });
  });

  describe('PostgreSQL server', () => {
    test('starts, answers select version(), isolates by database, and stops cleanly', async () => {
      const pg = await startPostgresServer();
      try {
        expect(pg.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/ados_test$/);
        const client = new Client({ connectionString: pg.url });
        await client.connect();
        try {
          const { rows } = await client.query<{ version: string; db: string }>('select version() as version, current_database() as db');
          expect(rows[0].version).toMatch(/^PostgreSQL \d+(\.\d+)? /);
          expect(rows[0].db).toBe('ados_test');
        } finally {
          await client.end();
        }

        const name = uniqueDatabaseName('toolchain');
        const url = await createDatabase(pg.adminUrl, name);
        const other = new Client({ connectionString: url });
        await other.connect();
        try {
          await other.query('create table t (id int primary key)');
          await other.query('insert into t values (1), (2)');
          const { rows } = await other.query<{ n: string; db: string }>('select count(*) as n, current_database() as db from t');
          expect(rows[0]).toEqual({ n: '2', db: name });
        } finally {
          await other.end();
        }
      } finally {
        await pg.stop();
      }
      expect(fs.existsSync(pg.dataDir)).toBe(false);
      const gone = new Client({ connectionString: pg.url, connectionTimeoutMillis: 3000 });
      await expect(gone.connect()).rejects.toThrow();
    });
  });
});
