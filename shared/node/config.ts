import { z } from 'zod';
import { DEFAULT_TASK_QUEUE_PREFIX } from '../contract/task-queues';

/**
 * Process configuration, parsed once from environment variables. A bad value stops start-up with
 * a message naming the variable and what it accepts.
 */
const envSchema = z.object({
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a Temporal namespace name, e.g. default')
    .default('default'),
  DATABASE_URL: z
    .string()
    .regex(
      /^(postgres(ql)?:\/\/.+|pglite:.*)$/,
      'must be postgres://user@host:port/db, or pglite:<dir> for an embedded database in this process',
    )
    .optional(),
  ADOS_TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, "_" or "-", e.g. ados')
    .default(DEFAULT_TASK_QUEUE_PREFIX),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  ADOS_DATA_DIR: z.string().min(1).default('.ados'),
  ADOS_WEB_UI_URL: z.url('must be a URL, e.g. http://localhost:8233').default('http://localhost:8233'),
  ADOS_WORKER_SHUTDOWN_GRACE: z
    .string()
    .regex(/^\d+(ms|s|m)$/, 'must be a duration such as 30s')
    .default('30s'),
});

export interface AdosConfig {
  temporalAddress: string;
  temporalNamespace: string;
  databaseUrl?: string;
  taskQueuePrefix: string;
  logLevel: z.output<typeof envSchema>['LOG_LEVEL'];
  dataDir: string;
  webUiUrl: string;
  workerShutdownGrace: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): AdosConfig {
  // Empty variables count as unset, as shells make them easily.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${String(issue.path[0])}=${JSON.stringify(present[String(issue.path[0])] ?? '')}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  return {
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    databaseUrl: e.DATABASE_URL,
    taskQueuePrefix: e.ADOS_TASK_QUEUE_PREFIX,
    logLevel: e.LOG_LEVEL,
    dataDir: e.ADOS_DATA_DIR,
    webUiUrl: e.ADOS_WEB_UI_URL.replace(/\/$/, ''),
    workerShutdownGrace: e.ADOS_WORKER_SHUTDOWN_GRACE,
  };
}

/** The link to one workflow in the Temporal Web UI. */
export function webUiWorkflowUrl(config: Pick<AdosConfig, 'webUiUrl' | 'temporalNamespace'>, workflowId: string): string {
  return `${config.webUiUrl}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
