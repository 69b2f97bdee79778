/**
 * Test helpers for the local toolchain set up by `deploy/bootstrap.mjs` (recorded in `.ados/toolchain.json`).
 *
 * Every Temporal environment here is started from an existing binary (`executable.type = 'existing-path'`):
 * the SDK's default would download a server at run time, which this project never does.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerDynamicConfigArgs, temporalCliPath, testServerPath } from '../../deploy/toolchain';
import type { LocalTestWorkflowEnvironmentOptions, TimeSkippingTestWorkflowEnvironmentOptions } from '@temporalio/testing';

export {
  DEV_SERVER_DYNAMIC_CONFIG,
  devServerDynamicConfigArgs,
  PROJECT_ROOT,
  TOOLCHAIN_JSON,
  readToolchain,
  temporalCliPath,
  testServerPath,
  pgBinDir,
  type Toolchain,
} from '../../deploy/toolchain';

type DevServerOptions = Omit<NonNullable<LocalTestWorkflowEnvironmentOptions['server']>, 'executable'>;

export type DevServerEnvOptions = Omit<LocalTestWorkflowEnvironmentOptions, 'server'> & {
  /** Dev-server options (namespace, searchAttributes, ui, uiPort, dbFilename, log, extraArgs, ...). */
  server?: DevServerOptions;
  /** Shorthand for `server.searchAttributes`. */
  searchAttributes?: DevServerOptions['searchAttributes'];
};

/**
 * Starts a real Temporal dev server (the pinned CLI) for a test, with priority and fairness on
 * (DEV_SERVER_DYNAMIC_CONFIG); call `env.teardown()` when done.
 */
export async function createDevServerEnv(opts: DevServerEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  const { server, searchAttributes, ...rest } = opts;
  return TestWorkflowEnvironment.createLocal({
    ...rest,
    server: {
      ...server,
      ...(searchAttributes ? { searchAttributes } : {}),
      extraArgs: [...devServerDynamicConfigArgs(), ...(server?.extraArgs ?? [])],
      executable: { type: 'existing-path', path: temporalCliPath() },
    },
  });
}

type TimeSkippingServerOptions = Omit<NonNullable<TimeSkippingTestWorkflowEnvironmentOptions['server']>, 'executable'>;

export type TimeSkippingEnvOptions = Omit<TimeSkippingTestWorkflowEnvironmentOptions, 'server'> & {
  server?: TimeSkippingServerOptions;
  /** Attempts before giving up (a JVM on a busy machine can miss the SDK's 5 s start-up window). Default 3. */
  attempts?: number;
};

/** Starts the Java time-skipping test server for a test; call `env.teardown()` when done. */
export async function createTimeSkippingEnv(opts: TimeSkippingEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  const { server, attempts = 3, ...rest } = opts;
  const executablePath = testServerPath();
  const errors: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        ...rest,
        server: { ...server, executable: { type: 'existing-path', path: executablePath } },
      });
    } catch (e) {
      errors.push(`attempt ${attempt}: ${(e as Error)?.message ?? String(e)}`);
      if (attempt < attempts) await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  throw new Error(`time-skipping test server (${executablePath}) did not start after ${attempts} attempts:\n${errors.join('\n')}`);
}
