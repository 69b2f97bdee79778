import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Command } from 'commander';

/**
 * deploy/cluster.ts runs the local Temporal cluster. The client may not import deploy/ (lint/layers.mjs), and the
 * cluster is an operator's tool rather than a client call: `ados cluster` runs it as a program of its own.
 */
const CLUSTER_PROGRAM = path.resolve(__dirname, '..', '..', 'deploy', 'cluster.ts');

/** Runs `deploy/cluster.ts <args>` with this terminal; resolves with its exit code. */
function runClusterProgram(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLUSTER_PROGRAM, ...args], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export function registerClusterCommands(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('a local multi-service Temporal cluster on PostgreSQL, with its Web UI (build it first: node deploy/bootstrap.mjs --cluster)');
  const sub = (name: string, description: string) =>
    cluster
      .command(name)
      .description(description)
      .option('--json', 'print JSON')
      .action(async (opts: { json?: boolean }) => {
        const code = await runClusterProgram([name, ...(opts.json ? ['--json'] : [])]);
        // The program has reported its failure itself; its code (5: the frontend does not answer) is this command's.
        if (code !== 0) process.exit(code);
      });
  sub('up', 'start PostgreSQL, the schema, frontend, history, matching, worker and the Web UI; register the namespace and search attributes');
  sub('down', 'stop every cluster process and PostgreSQL (the data stays under <ADOS_DATA_DIR>/cluster)');
  sub('status', 'each process (pid, log) and whether the frontend and the Web UI answer (exit 5 when the frontend does not)');
}
