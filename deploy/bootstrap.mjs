#!/usr/bin/env node
// ADOS toolchain bootstrap: plain Node ESM, Node builtins only (it runs before node_modules exists).
//
//   node deploy/bootstrap.mjs              Node deps, Temporal CLI (dev server), Java time-skipping test server
//   node deploy/bootstrap.mjs --postgres   ... plus PostgreSQL server binaries (for the test suite)
//   node deploy/bootstrap.mjs --cluster    ... plus PostgreSQL and the Temporal server, its SQL tool and the Web UI
//                                          server, built with Go (for `npm run cluster` and test/cluster)
//   node deploy/bootstrap.mjs --browser    ... plus Debian's chromium (for test/browser, driven by playwright-core)
//
// Idempotent and cached: a second run checks and does nothing. Tools are cached outside the clone in
// $ADOS_TOOLS_DIR (default ~/.cache/ados/tools) so a fresh clone (CI) reuses them. The result is written to
// <project>/.ados/toolchain.json, which the test helpers (test/helpers/toolchain.ts) read.
//
// Importing this module runs nothing; it exports the path logic (toolPaths(), projectRoot(), ...).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------------------------
// Pinned versions
// ---------------------------------------------------------------------------------------------------------------

/** Temporal CLI (dev server): v1.5.1 = Temporal Server 1.29.1, UI 2.42.1. Later tags cannot be `go install`ed. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli';
export const TEMPORAL_CLI_PACKAGE = `${TEMPORAL_CLI_MODULE}/cmd/temporal`;
/** Temporal Server version embedded in that CLI (as printed by `temporal --version`). */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
/** Java time-skipping test server, Maven artifact io.temporal:temporal-test-server. */
export const TEST_SERVER_GROUP = 'io.temporal';
export const TEST_SERVER_ARTIFACT = 'temporal-test-server';
export const TEST_SERVER_VERSION = '1.38.0';
export const TEST_SERVER_MAIN = 'io.temporal.testserver.TestServer';
/** maven-dependency-plugin used to copy the jars (pinned so the build does not depend on Maven's default). */
export const MAVEN_DEPENDENCY_PLUGIN_VERSION = '3.8.1';
/**
 * JVM flags for the test server. The TS SDK gives a launched server 5 s (50 x 100 ms) to accept connections.
 * Measured on this 2-core machine (time to the first gRPC answer, median of 5 starts): plain `java -cp lib/*` ~0.8 s
 * idle, ~1.2 s with both cores busy, ~2.5 s (max 3.4 s) with 4 busy loops on the 2 cores; with these flags plus
 * the AppCDS archive ~0.2 s idle, ~0.4 s with both cores busy, ~0.45 s (max 0.73 s) with 4 busy loops.
 * C1 only + serial GC: fast start, small footprint; a test server does not need C2 or a parallel collector.
 */
export const TEST_SERVER_JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];
export const MIN_NODE = [20, 19];
/** The Temporal server and its SQL schema tool, the same server version as the CLI's dev server. */
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const TEMPORAL_SERVER_PACKAGES = [`${TEMPORAL_SERVER_MODULE}/cmd/server`, `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql`];
/** The Web UI server with its built assets embedded: the version inside CLI v1.5.1 (`temporal --version`: UI 2.42.1). */
export const TEMPORAL_UI_VERSION = '2.42.1';
export const TEMPORAL_UI_MODULE = 'github.com/temporalio/ui-server/v2';
export const TEMPORAL_UI_PACKAGE = `${TEMPORAL_UI_MODULE}/cmd/server`;
/** Files of the server module the cluster needs at run time, copied next to the binaries (the module cache may be cleaned). */
export const TEMPORAL_SERVER_MODULE_FILES = ['schema/postgresql/v12', 'config/development-postgres12.yaml', 'config/dynamicconfig/development-sql.yaml'];

// ---------------------------------------------------------------------------------------------------------------
// Path logic (exported)
// ---------------------------------------------------------------------------------------------------------------

const here = path.dirname(fileURLToPath(import.meta.url));

/** The project root (the directory holding package.json), derived from this file's location. */
export function projectRoot() {
  return path.resolve(here, '..');
}

/**
 * Tool cache dir: $ADOS_TOOLS_DIR, else ~/.cache/ados/tools (outside the clone). Read here rather than through
 * shared/node/config.ts because the bootstrap is plain Node and runs before node_modules exist; TypeScript code
 * reads ADOS_TOOLS_DIR through that config, with the same default.
 */
export function toolsDir(env = process.env) {
  return path.resolve(env.ADOS_TOOLS_DIR || path.join(os.homedir(), '.cache', 'ados', 'tools'));
}

/** Absolute paths of everything bootstrap manages. */
export function toolPaths(env = process.env) {
  const tools = toolsDir(env);
  const root = projectRoot();
  const testServerDir = path.join(tools, `${TEST_SERVER_ARTIFACT}-${TEST_SERVER_VERSION}`);
  return {
    projectRoot: root,
    toolsDir: tools,
    binDir: path.join(tools, 'bin'),
    temporalCli: path.join(tools, 'bin', 'temporal'),
    testServerDir,
    testServerLib: path.join(testServerDir, 'lib'),
    testServer: path.join(testServerDir, 'temporal-test-server'),
    testServerArchive: path.join(testServerDir, 'app.jsa'),
    testServerStamp: path.join(testServerDir, '.ados-complete.json'),
    nodeModules: path.join(root, 'node_modules'),
    lockHashStamp: path.join(root, 'node_modules', '.ados-lock-hash'),
    toolchainJson: path.join(root, '.ados', 'toolchain.json'),
    clusterServerDir: path.join(tools, `temporal-server-${TEMPORAL_SERVER_VERSION}`),
    clusterServer: path.join(tools, `temporal-server-${TEMPORAL_SERVER_VERSION}`, 'server'),
    clusterSqlTool: path.join(tools, `temporal-server-${TEMPORAL_SERVER_VERSION}`, 'sql'),
    clusterModuleFiles: path.join(tools, `temporal-server-${TEMPORAL_SERVER_VERSION}`, 'module'),
    clusterUi: path.join(tools, `temporal-ui-${TEMPORAL_UI_VERSION}`, 'server'),
  };
}

/** Highest-versioned PostgreSQL server bin dir under /usr/lib/postgresql, or null. */
export function findPgBinDir(base = '/usr/lib/postgresql') {
  let entries;
  try {
    entries = fs.readdirSync(base);
  } catch {
    return null;
  }
  const candidates = entries
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(base, v, 'bin'))
    .filter((bin) => ['pg_ctl', 'initdb', 'postgres'].every((exe) => isExecutable(path.join(bin, exe))));
  return candidates[0] ?? null;
}

// ---------------------------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------------------------

const log = (msg) => console.log(`[bootstrap] ${msg}`);

class BootstrapError extends Error {
  constructor(message, fix) {
    super(message);
    this.fix = fix;
  }
}
const fail = (message, fix) => {
  throw new BootstrapError(message, fix);
};

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `which`, without spawning a shell. */
function which(cmd, env = process.env) {
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    if (isExecutable(p)) return p;
  }
  return null;
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
}

/** Run with inherited stdio (long steps show their own progress); throws a BootstrapError on failure. */
function runInherit(cmd, args, opts, what, fix) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) fail(`${what}: could not run ${cmd}: ${r.error.message}`, fix);
  if (r.status !== 0) fail(`${what}: \`${[cmd, ...args].join(' ')}\` exited with ${r.status ?? r.signal}`, fix);
}

function writeFileAtomic(file, content, mode) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, mode === undefined ? undefined : { mode });
  if (mode !== undefined) fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = (t0) => ((performance.now() - t0) / 1000).toFixed(1);

/** Runs fn; when it reports that it did work (returns truthy), prints the elapsed seconds. */
async function step(name, fn) {
  const t0 = performance.now();
  const didWork = await fn();
  if (didWork) log(`${name}: done in ${seconds(t0)} s`);
  return didWork;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Minimal unary gRPC call with an empty request message, over h2c (builtins only). Resolves the grpc-status. */
function grpcEmptyCall(port, method, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`gRPC ${method} timed out`));
    }, timeoutMs);
    session.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const req = session.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers' });
    let status;
    req.on('response', (h) => (status = h['grpc-status'] ?? status));
    req.on('trailers', (t) => (status = t['grpc-status'] ?? status));
    req.on('data', () => {});
    req.on('error', (e) => {
      clearTimeout(timer);
      session.destroy();
      reject(e);
    });
    req.on('end', () => {
      clearTimeout(timer);
      session.close();
      resolve(status);
    });
    req.end(Buffer.from([0, 0, 0, 0, 0])); // uncompressed, zero-length message
  });
}

// ---------------------------------------------------------------------------------------------------------------
// a. Prerequisites
// ---------------------------------------------------------------------------------------------------------------

function checkPrerequisites() {
  const [maj, min] = process.versions.node.split('.').map(Number);
  if (maj < MIN_NODE[0] || (maj === MIN_NODE[0] && min < MIN_NODE[1])) {
    fail(
      `Node ${process.versions.node} is too old: ADOS needs Node >= ${MIN_NODE.join('.')}.`,
      'install Node 20.19 or later (e.g. Node 20 LTS) and re-run.',
    );
  }
  const missing = [];
  const found = {};
  for (const [cmd, why, pkg] of [
    ['go', 'builds the Temporal CLI (dev server) from source', 'Go >= 1.23 (https://go.dev/doc/install)'],
    ['java', 'runs the Temporal time-skipping test server', 'a JDK/JRE >= 11 (Debian: apt-get install -y openjdk-17-jdk-headless)'],
    ['mvn', 'fetches the test-server jars', 'Apache Maven 3 (Debian: apt-get install -y maven)'],
  ]) {
    const p = which(cmd);
    if (p) found[cmd] = p;
    else missing.push(`\`${cmd}\` (${why}): install ${pkg}`);
  }
  if (missing.length) {
    fail(`missing on PATH:\n  - ${missing.join('\n  - ')}`, 'install the tools listed above, make sure they are on PATH, re-run.');
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// b. Node dependencies
// ---------------------------------------------------------------------------------------------------------------

function lockHash(root) {
  const lock = path.join(root, 'package-lock.json');
  if (!fs.existsSync(lock)) fail('package-lock.json is missing.', 'restore package-lock.json from git (`git checkout package-lock.json`).');
  return createHash('sha256').update(fs.readFileSync(lock)).digest('hex');
}

/**
 * Whether an existing node_modules already matches package-lock.json according to npm's own hidden lockfile
 * (node_modules/.package-lock.json), so a tree installed by `npm install`/`npm ci` without our stamp is not
 * reinstalled for nothing.
 */
function hiddenLockfileMatches(root) {
  const lock = readJson(path.join(root, 'package-lock.json'));
  const hidden = readJson(path.join(root, 'node_modules', '.package-lock.json'));
  if (!lock?.packages || !hidden?.packages) return false;
  for (const [key, want] of Object.entries(lock.packages)) {
    if (key === '' || !key.startsWith('node_modules/')) continue;
    const have = hidden.packages[key];
    if (!have) {
      if (want.optional || want.peer) continue; // e.g. another platform's native binary
      return false;
    }
    if (have.version !== want.version) return false;
    if (!fs.existsSync(path.join(root, key))) return false;
  }
  return true;
}

function ensureNodeDeps(paths) {
  const hash = lockHash(paths.projectRoot);
  let stamp = null;
  try {
    stamp = fs.readFileSync(paths.lockHashStamp, 'utf8').trim();
  } catch {
    /* no stamp */
  }
  let didWork = false;
  if (stamp !== hash) {
    if (fs.existsSync(paths.nodeModules) && hiddenLockfileMatches(paths.projectRoot)) {
      log('node_modules already matches package-lock.json; recording the stamp');
    } else {
      log(fs.existsSync(paths.nodeModules) ? 'package-lock.json changed: running npm ci...' : 'node_modules missing: running npm ci...');
      const npm = which('npm');
      if (!npm) fail('`npm` is not on PATH.', 'install Node.js with npm (npm >= 10) and re-run.');
      const ci = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: paths.projectRoot, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
      if (ci.status !== 0 && /Missing: .* from lock file/.test(ci.stderr ?? '')) {
        // A registry that lacks some other platform's optional binaries (e.g. @swc/core-darwin-arm64 at this
        // version) leaves them out of the lockfile, and `npm ci` then calls the lockfile out of sync.
        // `npm install` installs the same locked versions; the lockfile is put back as committed.
        log('npm ci refused the lockfile (optional binaries for other platforms are missing from the registry): installing the locked versions with npm install...');
        const lockfile = path.join(paths.projectRoot, 'package-lock.json');
        const committed = fs.readFileSync(lockfile);
        try {
          runInherit(npm, ['install', '--no-audit', '--no-fund'], { cwd: paths.projectRoot }, 'npm install failed', 'fix the npm error above (network to the npm registry?).');
        } finally {
          fs.writeFileSync(lockfile, committed);
        }
      } else if (ci.status !== 0) {
        process.stderr.write(ci.stderr ?? '');
        fail(`npm ci failed: exited with ${ci.status ?? ci.signal}`, 'fix the npm error above (network to the npm registry? lockfile out of sync with package.json: run `npm install` and commit package-lock.json).');
      }
    }
    writeFileAtomic(paths.lockHashStamp, `${hash}\n`);
    didWork = true;
  }
  // npm 11 may hold back install scripts (e.g. @swc/core's) pending approval: prove the native parts really load.
  const probe = `
    const bridge = require('@temporalio/core-bridge');
    if (!bridge || !bridge.native) throw new Error('@temporalio/core-bridge loaded without its native module');
    const out = require('@swc/core').transformSync('const a: number = 1; export default a;', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } });
    if (!/const a = 1/.test(out.code)) throw new Error('@swc/core transformSync produced unexpected output: ' + out.code);
  `;
  const r = run(process.execPath, ['-e', probe], { cwd: paths.projectRoot });
  if (r.status !== 0) {
    fail(
      `native/bundler packages do not work (@temporalio/core-bridge or @swc/core):\n${(r.stderr || r.error?.message || '').trim().split('\n').slice(0, 12).join('\n')}`,
      'reinstall them: `rm -rf node_modules && node deploy/bootstrap.mjs` (or `npm rebuild @swc/core @temporalio/core-bridge`); if npm reports install scripts awaiting approval, allow them for @swc/core.',
    );
  }
  return didWork;
}

// ---------------------------------------------------------------------------------------------------------------
// c. Temporal CLI (dev server), built from source with Go
// ---------------------------------------------------------------------------------------------------------------

/** Checks the binary: Go build info says github.com/temporalio/cli@v1.5.1 (or --version says 1.5.1), and it runs. */
function temporalCliStatus(bin) {
  if (!isExecutable(bin)) return { ok: false, why: 'not built yet' };
  const v = run(bin, ['--version'], { timeout: 30_000 });
  if (v.status !== 0) return { ok: false, why: `\`temporal --version\` failed: ${(v.stderr || v.error?.message || '').trim()}` };
  const versionLine = v.stdout.trim();
  if (versionLine.includes(TEMPORAL_CLI_VERSION)) return { ok: true, versionLine };
  // `go install` leaves the CLI's own version string at 0.0.0-DEV; the module version is in the Go build info.
  const goBin = which('go');
  if (goBin) {
    const m = run(goBin, ['version', '-m', bin], { timeout: 30_000 });
    const modRe = new RegExp(`^\\s*mod\\s+${TEMPORAL_CLI_MODULE.replace(/[./]/g, '\\$&')}\\s+v${TEMPORAL_CLI_VERSION.replace(/\./g, '\\.')}\\s`, 'm');
    if (m.status === 0 && modRe.test(m.stdout) && versionLine.includes(`Server ${TEMPORAL_SERVER_VERSION}`)) return { ok: true, versionLine };
  }
  return { ok: false, why: `wrong version (${versionLine})` };
}

function goInstallRunning() {
  const r = run('pgrep', ['-f', `go install .*${TEMPORAL_CLI_MODULE}`]);
  return r.status === 0 ? r.stdout.trim().split('\n').filter((pid) => pid && Number(pid) !== process.pid) : [];
}

async function ensureTemporalCli(paths) {
  // Another `go install` of the CLI (e.g. a concurrent bootstrap) may be writing into the same bin dir: wait for it.
  let pids = goInstallRunning();
  if (pids.length) {
    const t0 = performance.now();
    log(`a \`go install\` of the Temporal CLI is already running (pid ${pids.join(', ')}); waiting for it to finish...`);
    let lastReport = t0;
    while ((pids = goInstallRunning()).length) {
      await sleep(2000);
      if (performance.now() - lastReport > 30_000) {
        log(`  still waiting for the running go install (${seconds(t0)} s)...`);
        lastReport = performance.now();
      }
    }
    log(`the other go install finished after ${seconds(t0)} s`);
  }

  const status = temporalCliStatus(paths.temporalCli);
  if (status.ok) return { didWork: false, versionLine: status.versionLine };

  log(`Temporal CLI ${TEMPORAL_CLI_VERSION} at ${paths.temporalCli}: ${status.why}`);
  log('building Temporal CLI from source with Go (first run takes several minutes)...');
  fs.mkdirSync(paths.binDir, { recursive: true });
  runInherit(
    which('go'),
    ['install', `-ldflags=-X ${TEMPORAL_CLI_MODULE}/temporalcli.Version=${TEMPORAL_CLI_VERSION}`, `${TEMPORAL_CLI_PACKAGE}@v${TEMPORAL_CLI_VERSION}`],
    { env: { ...process.env, GOBIN: paths.binDir } },
    'building the Temporal CLI failed',
    'check the Go error above (Go toolchain too old? no access to the Go module proxy?); then re-run `npm run bootstrap`.',
  );
  const after = temporalCliStatus(paths.temporalCli);
  if (!after.ok) fail(`the freshly built Temporal CLI at ${paths.temporalCli} does not check out: ${after.why}`, 'remove it and re-run `npm run bootstrap`.');
  return { didWork: true, versionLine: after.versionLine };
}

// ---------------------------------------------------------------------------------------------------------------
// d. Java time-skipping test server (io.temporal:temporal-test-server from Maven Central) + AppCDS archive
// ---------------------------------------------------------------------------------------------------------------

function testServerPom() {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by ADOS deploy/bootstrap.mjs: resolves the Temporal time-skipping test server and its runtime jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ados.local</groupId>
  <artifactId>temporal-test-server-runtime</artifactId>
  <version>${TEST_SERVER_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>${TEST_SERVER_GROUP}</groupId>
      <artifactId>${TEST_SERVER_ARTIFACT}</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>${MAVEN_DEPENDENCY_PLUGIN_VERSION}</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
`;
}

function javaIdentity(javaBin) {
  const r = run(javaBin, ['-version']);
  if (r.status !== 0) fail(`\`${javaBin} -version\` failed: ${(r.stderr || r.error?.message || '').trim()}`, 'fix the Java installation (a JDK/JRE >= 11).');
  return r.stderr.trim().split('\n').join(' | ');
}

function jarList(lib) {
  try {
    return fs.readdirSync(lib).filter((f) => f.endsWith('.jar')).sort();
  } catch {
    return [];
  }
}

function jvmArgs(paths, jars, { archive }) {
  const cp = jars.map((j) => path.join(paths.testServerLib, j)).join(path.delimiter);
  const args = [...TEST_SERVER_JVM_FLAGS];
  if (archive === 'use') args.push(`-XX:SharedArchiveFile=${paths.testServerArchive}`);
  else if (archive) args.push(`-XX:ArchiveClassesAtExit=${archive}`);
  return [...args, '-cp', cp];
}

const shQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

function wrapperScript(paths, javaBin, jars, useArchive) {
  const args = jvmArgs(paths, jars, { archive: useArchive ? 'use' : null });
  return `#!/bin/sh
# Generated by ADOS deploy/bootstrap.mjs: Temporal time-skipping test server ${TEST_SERVER_VERSION}
# (${TEST_SERVER_GROUP}:${TEST_SERVER_ARTIFACT}). The TypeScript SDK launches it as \`<this> <port> [extraArgs]\`
# and gives it 5 s to accept connections. Time skipping starts locked, as the SDK expects (no
# --enable-time-skipping). Fast start-up: C1 only, serial GC, AppCDS archive made by bootstrap.
exec ${shQuote(javaBin)} \\
  ${args.map(shQuote).join(' \\\n  ')} \\
  ${TEST_SERVER_MAIN} "$@"
`;
}

/** Cached-state check: stamp matches, jars and wrapper present, and the archive (if any) still maps. */
function testServerCached(paths, javaBin, javaId) {
  const stamp = readJson(paths.testServerStamp);
  if (!stamp) return false;
  if (stamp.version !== TEST_SERVER_VERSION || stamp.java !== javaBin || stamp.javaVersion !== javaId) return false;
  if (JSON.stringify(stamp.flags) !== JSON.stringify(TEST_SERVER_JVM_FLAGS)) return false;
  const jars = jarList(paths.testServerLib);
  if (JSON.stringify(jars) !== JSON.stringify(stamp.jars)) return false;
  if (!isExecutable(paths.testServer)) return false;
  if (fs.readFileSync(paths.testServer, 'utf8') !== wrapperScript(paths, javaBin, jars, stamp.archive)) return false;
  if (stamp.archive && !archiveMaps(paths, javaBin, jars)) return false;
  return true;
}

/** `-Xshare:on` makes the JVM refuse to start when the archive cannot be used (other JVM build, jars changed). */
function archiveMaps(paths, javaBin, jars) {
  if (!fs.existsSync(paths.testServerArchive)) return false;
  const r = run(javaBin, [...jvmArgs(paths, jars, { archive: 'use' }).map((a) => (a === '-Xshare:auto' ? '-Xshare:on' : a)), '-version']);
  return r.status === 0;
}

/** Starts the server once, waits until it listens and answers, then stops it; returns ms to listen / to answer. */
async function startAndProbe(cmd, argsBeforePort, { timeoutMs = 60_000 } = {}) {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(cmd, [...argsBeforePort, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  let exited = null;
  const exitP = new Promise((resolve) => child.on('exit', (code, signal) => resolve((exited = { code, signal }))));
  try {
    while (!(await canConnect(port))) {
      if (exited) throw new Error(`test server exited early (${exited.code ?? exited.signal}): ${stderr.trim()}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`test server did not listen within ${timeoutMs / 1000} s: ${stderr.trim()}`);
      await sleep(20);
    }
    const listenMs = Math.round(performance.now() - t0);
    // Exercise the request path too, so the archive also covers the classes of the first calls.
    const s1 = await grpcEmptyCall(port, '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo');
    const s2 = await grpcEmptyCall(port, '/temporal.api.testservice.v1.TestService/GetCurrentTime');
    if (s1 !== '0' || s2 !== '0') throw new Error(`test server answered gRPC status ${s1}/${s2} instead of 0 (OK)`);
    const answerMs = Math.round(performance.now() - t0);
    return { listenMs, answerMs };
  } finally {
    if (!exited) {
      child.kill('SIGTERM'); // a normal JVM exit: needed for -XX:ArchiveClassesAtExit to write the archive
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exitP;
      clearTimeout(timer);
    }
  }
}

async function ensureTestServer(paths) {
  const javaBin = fs.realpathSync(which('java'));
  const javaId = javaIdentity(javaBin);
  if (testServerCached(paths, javaBin, javaId)) return false;

  const dir = paths.testServerDir;
  log(`setting up the Temporal time-skipping test server ${TEST_SERVER_VERSION} in ${dir}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(paths.testServerStamp, { force: true });

  // 1. jars, via Maven (Maven Central). lib/.ados-jars.json marks a complete copy (a failed run leaves none).
  const libStamp = path.join(paths.testServerLib, '.ados-jars.json');
  let jars = jarList(paths.testServerLib);
  const libDone = readJson(libStamp);
  if (!libDone || libDone.version !== TEST_SERVER_VERSION || JSON.stringify(libDone.jars) !== JSON.stringify(jars)) {
    const t0 = performance.now();
    log(`fetching ${TEST_SERVER_GROUP}:${TEST_SERVER_ARTIFACT}:${TEST_SERVER_VERSION} and its runtime jars with Maven (first run downloads ~40 MB)...`);
    fs.writeFileSync(path.join(dir, 'pom.xml'), testServerPom());
    fs.rmSync(paths.testServerLib, { recursive: true, force: true });
    // -q prints nothing useful on success (only colour resets), so capture the output and show it on failure.
    const mvn = run(which('mvn'), ['-B', '-q', '-Dstyle.color=never', 'dependency:copy-dependencies', '-DoutputDirectory=lib', '-DincludeScope=runtime'], {
      cwd: dir,
      timeout: 15 * 60_000,
    });
    if (mvn.status !== 0) {
      const out = `${mvn.stdout ?? ''}${mvn.stderr ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '').trim();
      fail(
        `Maven could not fetch the test server (exit ${mvn.status ?? mvn.signal ?? mvn.error?.message}):\n${out.split('\n').slice(-30).join('\n')}`,
        `check the Maven error above (no access to Maven Central? try \`mvn dependency:get -Dartifact=${TEST_SERVER_GROUP}:${TEST_SERVER_ARTIFACT}:${TEST_SERVER_VERSION}\`); then re-run \`npm run bootstrap\`.`,
      );
    }
    jars = jarList(paths.testServerLib);
    if (!jars.includes(`${TEST_SERVER_ARTIFACT}-${TEST_SERVER_VERSION}.jar`)) {
      fail(`Maven finished but ${paths.testServerLib} has no ${TEST_SERVER_ARTIFACT}-${TEST_SERVER_VERSION}.jar`, `remove ${dir} and re-run \`npm run bootstrap\`.`);
    }
    writeFileAtomic(libStamp, `${JSON.stringify({ version: TEST_SERVER_VERSION, jars }, null, 2)}\n`);
    log(`  ${jars.length} jars in ${seconds(t0)} s`);
  }

  // 2. AppCDS archive from a training run (start, answer two calls, stop), so later JVMs start in a fraction.
  let useArchive = false;
  {
    const t0 = performance.now();
    log('training an AppCDS archive for fast test-server start-up...');
    const tmpArchive = `${paths.testServerArchive}.tmp-${process.pid}`;
    fs.rmSync(paths.testServerArchive, { force: true });
    try {
      await startAndProbe(javaBin, [...jvmArgs(paths, jars, { archive: tmpArchive }), TEST_SERVER_MAIN]);
      if (fs.existsSync(tmpArchive)) {
        fs.renameSync(tmpArchive, paths.testServerArchive);
        useArchive = archiveMaps(paths, javaBin, jars);
      }
    } catch (e) {
      fail(`the test server did not start: ${e.message}`, `check Java (${javaBin}) and the jars in ${paths.testServerLib}; remove ${dir} and re-run.`);
    } finally {
      fs.rmSync(tmpArchive, { force: true });
    }
    if (!useArchive) {
      fs.rmSync(paths.testServerArchive, { force: true });
      log('  WARNING: this JVM could not create/map an AppCDS archive; the test server starts without it (slower).');
    } else log(`  archive written in ${seconds(t0)} s`);
  }

  // 3. wrapper script, then measure it the way the SDK will run it.
  writeFileAtomic(paths.testServer, wrapperScript(paths, javaBin, jars, useArchive), 0o755);
  const probes = [];
  for (let i = 0; i < 3; i++) probes.push(await startAndProbe(paths.testServer, []).catch((e) => fail(`the test-server wrapper ${paths.testServer} did not start: ${e.message}`, `remove ${dir} and re-run.`)));
  const worst = Math.max(...probes.map((p) => p.listenMs));
  log(`  test server listens after ${probes.map((p) => p.listenMs).join(' / ')} ms (the SDK allows 5000 ms)`);
  if (worst > 2500) log('  WARNING: slow test-server start-up; on a busy machine it may miss the SDK\'s 5 s window (tests retry).');

  writeFileAtomic(
    paths.testServerStamp,
    `${JSON.stringify({ version: TEST_SERVER_VERSION, java: javaBin, javaVersion: javaId, flags: TEST_SERVER_JVM_FLAGS, jars, archive: useArchive, listenMs: probes.map((p) => p.listenMs) }, null, 2)}\n`,
  );
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// e. PostgreSQL server binaries (only with --postgres; no server is started here)
// ---------------------------------------------------------------------------------------------------------------

function ensurePostgres() {
  let bin = findPgBinDir();
  if (bin) return { didWork: false, bin };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    fail(
      'PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/pg_ctl).',
      'install them as root: `sudo apt-get update && sudo apt-get install -y postgresql` (Debian/Ubuntu), then re-run.',
    );
  }
  if (!which('apt-get')) fail('PostgreSQL server binaries not found and apt-get is not available.', 'install the PostgreSQL server (initdb, pg_ctl, postgres) under /usr/lib/postgresql/<ver>/bin.');
  log('PostgreSQL server binaries missing: installing with apt-get (a minute or two)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const fix = 'check the apt error above; `apt-get update && apt-get install -y postgresql` must work as root.';
  runInherit('apt-get', ['update'], { env }, 'apt-get update failed', fix);
  runInherit('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { env }, 'apt-get install postgresql failed', fix);
  bin = findPgBinDir();
  if (!bin) fail('apt-get installed postgresql but no /usr/lib/postgresql/*/bin/pg_ctl exists.', 'install the postgresql-<ver> server package by hand.');
  return { didWork: true, bin };
}

function pgVersion(bin) {
  if (!bin) return null;
  const r = run(path.join(bin, 'postgres'), ['--version']);
  return r.status === 0 ? (r.stdout.match(/(\d+(?:\.\d+)*)/)?.[1] ?? r.stdout.trim()) : null;
}

// ---------------------------------------------------------------------------------------------------------------
// f. Chromium (only with --browser): Debian's package, which playwright-core drives; it never downloads a browser
// ---------------------------------------------------------------------------------------------------------------

export const CHROMIUM_PATH = '/usr/bin/chromium';

function chromiumVersion() {
  const r = run(CHROMIUM_PATH, ['--version'], { timeout: 30_000 });
  return r.status === 0 ? (r.stdout.match(/(\d+(?:\.\d+)+)/)?.[1] ?? r.stdout.trim()) : null;
}

function ensureChromium() {
  if (isExecutable(CHROMIUM_PATH)) return false;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) fail(`chromium not found at ${CHROMIUM_PATH}.`, 'install it as root: `sudo apt-get update && sudo apt-get install -y chromium` (Debian), then re-run.');
  if (!which('apt-get')) fail(`chromium not found at ${CHROMIUM_PATH} and apt-get is not available.`, `install a Chromium whose binary is ${CHROMIUM_PATH}.`);
  log('chromium missing: installing with apt-get (a few minutes)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const fix = 'check the apt error above; `apt-get update && apt-get install -y chromium` must work as root.';
  runInherit('apt-get', ['update'], { env }, 'apt-get update failed', fix);
  runInherit('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { env }, 'apt-get install chromium failed', fix);
  if (!isExecutable(CHROMIUM_PATH)) fail(`apt-get installed chromium but ${CHROMIUM_PATH} does not exist.`, 'install the chromium package by hand.');
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// g. Temporal cluster: server, SQL tool and Web UI server built with Go (only with --cluster)
// ---------------------------------------------------------------------------------------------------------------

/** Whether `go version -m bin` says it was built from `module` at `version` (Go build info). */
function builtFrom(bin, module, version) {
  if (!isExecutable(bin)) return false;
  const goBin = which('go');
  if (!goBin) return false;
  const m = run(goBin, ['version', '-m', bin], { timeout: 30_000 });
  const modRe = new RegExp(`^\\s*mod\\s+${module.replace(/[./]/g, '\\$&')}\\s+v${version.replace(/\./g, '\\.')}\\s`, 'm');
  return m.status === 0 && modRe.test(m.stdout);
}

function clusterBuilt(paths) {
  return (
    builtFrom(paths.clusterServer, TEMPORAL_SERVER_MODULE, TEMPORAL_SERVER_VERSION) &&
    builtFrom(paths.clusterSqlTool, TEMPORAL_SERVER_MODULE, TEMPORAL_SERVER_VERSION) &&
    builtFrom(paths.clusterUi, TEMPORAL_UI_MODULE, TEMPORAL_UI_VERSION) &&
    TEMPORAL_SERVER_MODULE_FILES.every((f) => fs.existsSync(path.join(paths.clusterModuleFiles, f)))
  );
}

/** Builds the server and its SQL tool, and the UI server (its binary is also called `server`: a dir of its own). */
function ensureClusterTools(paths) {
  if (clusterBuilt(paths)) return false;
  const goBin = which('go');
  const fix = 'check the Go error above (no access to the Go module proxy? Go too old for the Go 1.25 module?); then re-run `node deploy/bootstrap.mjs --cluster`.';
  log(`building Temporal Server ${TEMPORAL_SERVER_VERSION} (server, sql tool) and the Web UI server ${TEMPORAL_UI_VERSION} with Go (first run: a few minutes)...`);
  runInherit(
    goBin,
    ['install', ...TEMPORAL_SERVER_PACKAGES.map((p) => `${p}@v${TEMPORAL_SERVER_VERSION}`)],
    { env: { ...process.env, GOBIN: paths.clusterServerDir } },
    'building the Temporal server failed',
    fix,
  );
  runInherit(goBin, ['install', `${TEMPORAL_UI_PACKAGE}@v${TEMPORAL_UI_VERSION}`], { env: { ...process.env, GOBIN: path.dirname(paths.clusterUi) } }, 'building the Temporal Web UI server failed', fix);
  // The schema and the sample config live in the module source, which `go clean -modcache` would remove.
  const modCache = run(goBin, ['env', 'GOMODCACHE']).stdout.trim();
  const moduleDir = path.join(modCache, `${TEMPORAL_SERVER_MODULE}@v${TEMPORAL_SERVER_VERSION}`);
  fs.rmSync(paths.clusterModuleFiles, { recursive: true, force: true });
  for (const file of TEMPORAL_SERVER_MODULE_FILES) {
    const from = path.join(moduleDir, file);
    if (!fs.existsSync(from)) fail(`${from} is missing from the Go module cache after the build`, `run \`go mod download ${TEMPORAL_SERVER_MODULE}@v${TEMPORAL_SERVER_VERSION}\` and re-run.`);
    fs.cpSync(from, path.join(paths.clusterModuleFiles, file), { recursive: true });
  }
  // The module cache is read-only: the copies must be writable so that a rebuild can replace them.
  run('chmod', ['-R', 'u+w', paths.clusterModuleFiles]);
  if (!clusterBuilt(paths)) fail(`the freshly built cluster binaries in ${paths.clusterServerDir} do not check out (go version -m)`, `remove ${paths.clusterServerDir} and re-run.`);
  return true;
}

/** The cluster entry of .ados/toolchain.json, or null when the cluster tools are not built. */
function clusterToolchain(paths) {
  if (!clusterBuilt(paths)) return null;
  return {
    server: paths.clusterServer,
    sqlTool: paths.clusterSqlTool,
    ui: paths.clusterUi,
    moduleFiles: paths.clusterModuleFiles,
    serverVersion: TEMPORAL_SERVER_VERSION,
    uiVersion: TEMPORAL_UI_VERSION,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ados-spawner: exec's command launcher (shared/node/process/spawner.ts)
// ---------------------------------------------------------------------------------------------------------------

export const SPAWNER_SOURCE = 'shared/node/process/ados-spawner.c';
export const SPAWNER_BINARY = '.ados/bin/ados-spawner';

/**
 * Builds ados-spawner from its C source into .ados/bin when the source changed (its sha256 is kept beside the
 * binary). Without a C compiler it says so and builds nothing: exec then starts commands with Node's spawn, which is
 * correct but slower to start a command on a large worker. Returns whether it built.
 */
function ensureSpawner(paths) {
  const source = path.join(paths.projectRoot, SPAWNER_SOURCE);
  const binary = path.join(paths.projectRoot, SPAWNER_BINARY);
  const stamp = `${binary}.sha256`;
  const hash = createHash('sha256').update(fs.readFileSync(source)).digest('hex');
  if (isExecutable(binary) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === hash) return false;
  const compiler = which(process.env.CC || 'cc') ?? which('gcc') ?? which('clang');
  if (!compiler) {
    log(`no C compiler (cc, gcc or clang) on PATH: ados-spawner not built; exec starts commands with Node's spawn (slower on large workers; install one and re-run to build it)`);
    return false;
  }
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const tmp = `${binary}.tmp-${process.pid}`;
  const r = run(compiler, ['-O2', '-Wall', '-o', tmp, source]);
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    log(`ados-spawner did not build with ${compiler} (exec starts commands with Node's spawn):\n${(r.stderr || r.error?.message || '').trim()}`);
    return false;
  }
  fs.renameSync(tmp, binary);
  writeFileAtomic(stamp, `${hash}\n`);
  log(`built ${SPAWNER_BINARY} with ${compiler}`);
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------------------------

export async function bootstrap(argv = process.argv.slice(2)) {
  const cluster = argv.includes('--cluster');
  const postgres = cluster || argv.includes('--postgres');
  const browser = argv.includes('--browser');
  const unknown = argv.filter((a) => a !== '--postgres' && a !== '--browser' && a !== '--cluster');
  if (unknown.length) fail(`unknown argument(s): ${unknown.join(' ')}`, 'usage: node deploy/bootstrap.mjs [--postgres] [--browser] [--cluster]');

  const tStart = performance.now();
  const paths = toolPaths();
  log(`project ${paths.projectRoot}; tools cache ${paths.toolsDir}${postgres ? '; with PostgreSQL' : ''}${cluster ? '; with the Temporal cluster' : ''}`);

  let worked = false;
  checkPrerequisites();
  worked = (await step('node dependencies', () => ensureNodeDeps(paths))) || worked;

  let cli;
  worked = (await step('Temporal CLI', async () => (cli = await ensureTemporalCli(paths)).didWork)) || worked;
  worked = (await step('test server', () => ensureTestServer(paths))) || worked;
  worked = (await step('ados-spawner', () => ensureSpawner(paths))) || worked;

  let pgBin = null;
  if (postgres) {
    let pg;
    worked = (await step('PostgreSQL', () => (pg = ensurePostgres()).didWork)) || worked;
    pgBin = pg.bin;
  } else {
    pgBin = findPgBinDir() ?? readJson(paths.toolchainJson)?.pgBinDir ?? null;
  }
  if (cluster) worked = (await step('Temporal cluster tools', () => ensureClusterTools(paths))) || worked;

  if (browser) worked = (await step('chromium', () => ensureChromium())) || worked;

  const toolchain = {
    temporalCli: paths.temporalCli,
    testServer: paths.testServer,
    pgBinDir: pgBin,
    toolsDir: paths.toolsDir,
    // Recorded whenever built (a plain bootstrap keeps it), read by deploy/cluster.ts.
    cluster: clusterToolchain(paths),
    versions: {
      temporalCli: TEMPORAL_CLI_VERSION,
      temporalServer: TEMPORAL_SERVER_VERSION,
      temporalCliVersionLine: cli.versionLine,
      testServer: TEST_SERVER_VERSION,
      postgres: pgVersion(pgBin),
      chromium: isExecutable(CHROMIUM_PATH) ? chromiumVersion() : null,
    },
  };
  const content = `${JSON.stringify(toolchain, null, 2)}\n`;
  let existing = null;
  try {
    existing = fs.readFileSync(paths.toolchainJson, 'utf8');
  } catch {
    /* first run */
  }
  if (existing !== content) {
    writeFileAtomic(paths.toolchainJson, content);
    log(`wrote ${path.relative(process.cwd(), paths.toolchainJson) || paths.toolchainJson}`);
    worked = true;
  }
  log(worked ? `toolchain ready in ${seconds(tStart)} s` : `toolchain up to date (${seconds(tStart)} s, nothing to do)`);
  return toolchain;
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  bootstrap().catch((e) => {
    if (e instanceof BootstrapError) {
      console.error(`[bootstrap] ERROR: ${e.message}`);
      if (e.fix) console.error(`[bootstrap] fix: ${e.fix}`);
    } else {
      console.error(`[bootstrap] ERROR: unexpected failure: ${e?.stack || e}`);
    }
    process.exit(1);
  });
}
