/**
 * `ados <args>` as a child process of a benchmark, measured: wall time (the CLI's start included), peak resident set
 * (the child's VmHWM, sampled every 100 ms) and what it printed. A non-zero exit throws with its stderr.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ADOS_BIN, cleanEnv } from '../../test/helpers/processes';
import { PROJECT_ROOT } from '../../test/helpers/toolchain';

export interface MeasuredCliRun {
  seconds: number;
  peakRssBytes: number;
  stdout: string;
}

/** A process's peak resident set (VmHWM), in bytes, or undefined once it has gone. */
function peakRss(pid: number): number | undefined {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Runs `ados <args>` in the project with a clean environment plus `env`. */
export async function runAdosMeasured(args: string[], env: Record<string, string>): Promise<MeasuredCliRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [ADOS_BIN, ...args], { cwd: PROJECT_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, peakRss(child.pid!) ?? 0)), 100);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`ados ${args.slice(0, 2).join(' ')} exited ${code}: ${stderr.trim()}`);
  return { seconds: (Date.now() - started) / 1000, peakRssBytes: peak, stdout };
}
