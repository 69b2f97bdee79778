/**
 * A loopback HTTP poller: one GET every `intervalMs` on a fresh connection (no keep-alive, so every poll tests that
 * the port accepts and answers), counting answers and failures. The blue/green tests and the deploy-switch
 * benchmark measure downtime with it.
 */
import http from 'node:http';

export interface PollStats {
  ok: number;
  failed: number;
  /** What failed polls saw (status or error code), the first few. */
  failures: string[];
  /** The `version` field of each JSON answer, in order, with repeats collapsed. */
  versions: string[];
}

export class LoopbackPoller {
  readonly stats: PollStats = { ok: 0, failed: 0, failures: [], versions: [] };
  private timer?: NodeJS.Timeout;
  private inFlight = 0;

  constructor(
    private readonly url: string,
    private readonly intervalMs = 10,
  ) {}

  start(): this {
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    return this;
  }

  /** Stops polling and waits for the polls in flight. */
  async stop(): Promise<PollStats> {
    clearInterval(this.timer);
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    return this.stats;
  }

  private poll(): void {
    this.inFlight += 1;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      this.inFlight -= 1;
      return true;
    };
    const fail = (why: string) => {
      if (!settle()) return;
      this.stats.failed += 1;
      if (this.stats.failures.length < 10) this.stats.failures.push(why);
    };
    const request = http.get(this.url, { agent: false, timeout: 2_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return fail(`status ${response.statusCode}`);
        if (!settle()) return;
        this.stats.ok += 1;
        const version = (() => {
          try {
            return String((JSON.parse(body) as { version?: unknown }).version);
          } catch {
            return 'not json';
          }
        })();
        if (this.stats.versions[this.stats.versions.length - 1] !== version) this.stats.versions.push(version);
      });
      response.on('error', (error) => fail(error.message));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
  }
}
