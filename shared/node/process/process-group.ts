/**
 * Process groups: how ADOS stops a command and everything it started.
 *
 * A command is spawned detached (setsid: its own session and process group, pgid = its pid), and stopped by
 * signalling the whole group (`kill(-pgid)`), SIGTERM first and SIGKILL after a grace. Walking the process tree
 * instead (tree-kill) misses exactly the processes that matter: a grandchild whose parent exited is reparented to
 * init (or a subreaper) and is no longer in the command's tree, but it stays in the command's group unless it calls
 * setsid itself (a daemon that does is out of reach of both, and documented as such).
 *
 * A zombie (exited, not yet collected by its parent) counts as gone: it runs nothing and holds nothing but its pid
 * entry. Where PID 1 does not collect orphans (some containers), killed grandchildren stay zombies forever, and
 * `kill(pid, 0)` still succeeds on them, so liveness reads /proc on Linux.
 */
import { readdirSync, readFileSync } from 'node:fs';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How often a stopping group is checked. */
const POLL_MS = 20;
/** How long SIGKILLed processes get to disappear (the kernel is quick; this only bounds a wait). */
const AFTER_SIGKILL_MS = 2_000;

interface ProcStat {
  state: string;
  pgrp: number;
  /** Clock ticks since boot when the process started: with the pid, it names one process (pids are reused). */
  startTime: string;
}

/** /proc/<pid>/stat, or undefined when there is no such process (or no /proc). */
function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], pgrp: Number(fields[2]), startTime: fields[19] };
}

const hasProc = (() => {
  let known: boolean | undefined;
  return () => (known ??= procStat(process.pid) !== undefined);
})();

/** Whether `pid` names a live (not zombie) process. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!hasProc()) return true;
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** The start time of a process (Linux), to tell it from a later process given the same pid. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

/** Whether the group `pgid` has a live (not zombie) member. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!hasProc()) return true;
  // Members may all be zombies: look for a live one.
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!groupAlive(pgid)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/** How a group was stopped. */
export type GroupStop = 'gone' | 'SIGTERM' | 'SIGKILL';

/**
 * Stops every process of group `pgid`: SIGTERM, then SIGKILL for whatever is still alive after `graceMs`. Returns
 * `gone` when nothing was alive, else the signal that ended the last member. Throws if members survive SIGKILL
 * (stopped in uninterruptible sleep, or not ours to signal).
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<GroupStop> {
  if (!groupAlive(pgid)) return 'gone';
  signalGroup(pgid, 'SIGTERM');
  // A stopped (SIGSTOP) member only acts on SIGTERM once continued.
  signalGroup(pgid, 'SIGCONT');
  if (await waitGone(pgid, graceMs)) return 'SIGTERM';
  signalGroup(pgid, 'SIGKILL');
  if (await waitGone(pgid, AFTER_SIGKILL_MS)) return 'SIGKILL';
  throw new Error(`process group ${pgid} survived SIGKILL for ${AFTER_SIGKILL_MS} ms`);
}

/** A process group as recorded in a heartbeat, so that a later attempt can find it again. */
export interface GroupRecord {
  pgid: number;
  host: string;
  /** The leader's start time (Linux), so that a reused pid is not mistaken for the group. */
  startTime?: string;
}

/**
 * Whether `record` still names a live group of this host: the same host, a live member in group `pgid`, and, while
 * its leader lives, the same leader start time. Once the leader is gone the group id cannot have been reused: the
 * kernel does not hand out a pid that is still some group's id.
 */
export function recordedGroupAlive(record: GroupRecord, host: string): boolean {
  if (record.host !== host || !groupAlive(record.pgid)) return false;
  const leader = procStat(record.pgid);
  if (!leader || leader.state === 'Z' || record.startTime === undefined) return true;
  return leader.startTime === record.startTime;
}
