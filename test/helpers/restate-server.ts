/**
 * A real `restate-server` (the `@restatedev/restate-server` npm package, 1.7) for integration tests, on free
 * 127.0.0.1 ports with a throw-away data directory, plus the few admin API calls tests need.
 *
 *   const server = await startRestateServer();
 *   await registerDeployment(server.adminUrl, 'http://127.0.0.1:9080');
 *   await fetch(`${server.ingressUrl}/Thread/T1/run`, { method: 'POST', ... });
 *   await server.kill9(); await server.restart(); // same ports, same data
 *   await server.stop(); // SIGTERM to the process group, SIGKILL after a grace period, temp dir removed
 *
 * The binary is started directly (the package's `lib/index.js` is only a Node wrapper that forks it), in its own
 * process group, so `stop()`/`kill9()` signal the group. Offline: telemetry is off (`RESTATE_DISABLE_TELEMETRY`,
 * `DO_NOT_TRACK`). Restate 1.7 still makes one unconditional HTTPS request to api.github.com at start-up (a
 * "new version" check, no setting turns it off); without network it fails and logs `ERROR octocrab ... (Connect)`.
 * Memory is turned down for 2-core machines: RocksDB budget 64 MiB and one partition give ~140 MB RSS instead of
 * ~270 MB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';

export interface RestateServerOptions {
  /** Existing data directory (`--base-dir`) to start from; kept by `stop()`. Default: a new temp dir, removed. */
  dataDir?: string;
  /** Extra environment, e.g. `{ RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT: '5s' }`; wins over the defaults. */
  env?: Record<string, string>;
  /** `rocksdb-total-memory-size` (default `64MiB`). */
  rocksdbMemory?: string;
  /** Partitions of a new cluster (default 1; ignored when the data dir already holds a cluster). */
  partitions?: number;
  /** How long to wait for the admin API and ingress to answer healthy (default 30 s). */
  startTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL in `stop()`/`restart()` (default 10 s). */
  stopTimeoutMs?: number;
}

export interface RestateServer {
  /** `http://127.0.0.1:<port>`: call handlers (`/Service/key/handler`, `/send`), `/restate/...`. */
  ingressUrl: string;
  /** `http://127.0.0.1:<port>`: `/deployments`, `/invocations/{id}/cancel`, `/query`, `/health`. */
  adminUrl: string;
  /** Node-to-node (message fabric) port. */
  nodePort: number;
  dataDir: string;
  /** Process id (= process group id) of the running server, undefined while it is down. */
  pid(): number | undefined;
  /** The server's stdout and stderr so far (last ~256 kB). */
  logs(): string;
  /** SIGTERM to the group, SIGKILL after the grace period; removes the data dir if this helper created it. */
  stop(): Promise<void>;
  /** SIGKILL to the group (a crash); data dir and ports are kept for `restart()`. */
  kill9(): Promise<void>;
  /** Stops it gracefully if running, then starts it again on the same data dir and ports; waits until healthy. */
  restart(): Promise<void>;
}

const require = createRequire(import.meta.url);
const LOG_LIMIT = 256 * 1024;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** The real server binary from `node_modules` (the platform package the wrapper would fork). */
export function restateServerBinary(): string {
  return require.resolve(`@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`);
}

/** Starts a restate-server on free loopback ports and waits until its admin API and ingress answer healthy. */
export async function startRestateServer(options: RestateServerOptions = {}): Promise<RestateServer> {
  installExitHook();
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'restate-test-')));
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  let ports = { ingress: 0, admin: 0, node: 0 };
  let child: ChildProcess | undefined;
  let log = '';

  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };

  const url = (port: number) => `http://127.0.0.1:${port}`;

  const launch = async (): Promise<void> => {
    // The invoker makes an `invoker-<ULID>` dir in the system temp dir on every start and never removes it.
    const serverTmp = join(dataDir, 'tmp');
    await mkdir(serverTmp, { recursive: true });
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      // A developer's own RESTATE_* settings must not leak into the test server.
      if (value !== undefined && !key.startsWith('RESTATE_')) env[key] = value;
    }
    Object.assign(env, {
      TMPDIR: serverTmp,
      RESTATE_DISABLE_TELEMETRY: 'true',
      DO_NOT_TRACK: 'true',
      RESTATE_LISTEN_MODE: 'tcp', // no unix sockets in the data dir (108-byte path limit)
      RESTATE_NODE_NAME: 'test-node', // the data lives in <base-dir>/<node-name>; default is the hostname
      RESTATE_CLUSTER_NAME: 'test-cluster',
      RESTATE_BIND_ADDRESS: `127.0.0.1:${ports.node}`,
      RESTATE_ADVERTISED_ADDRESS: `${url(ports.node)}/`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${ports.admin}`,
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ports.ingress}`,
      RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE: options.rocksdbMemory ?? '64MiB',
      RESTATE_DEFAULT_NUM_PARTITIONS: String(options.partitions ?? 1),
      RESTATE_ADMIN__DISABLE_WEB_UI: 'true',
      RESTATE_LOG_FORMAT: 'compact',
      RESTATE_LOG_DISABLE_ANSI_CODES: 'true',
      ...options.env,
    });
    const proc = spawn(restateServerBinary(), ['--base-dir', dataDir, '--no-logo'], {
      env,
      detached: true, // own process group: stop()/kill9() signal the whole group
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    if (proc.pid !== undefined) startWatchdog(proc.pid, ownsDir ? dataDir : '');
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    child = proc;
    const exited = new Promise<string>((resolve) => {
      proc.once('exit', (code, signal) => resolve(`restate-server exited early (code ${code}, signal ${signal})`));
      proc.once('error', (error) => resolve(`restate-server failed to start: ${error.message}`));
    });
    const healthy = waitHealthy(url(ports.admin), url(ports.ingress), startTimeoutMs);
    const outcome = await Promise.race([healthy.then(() => undefined), exited]).finally(() => healthy.cancel());
    if (outcome !== undefined) {
      child = undefined;
      throw new Error(`${outcome}\n${log.slice(-4000)}`);
    }
  };

  const signalGroup = (proc: ChildProcess, signal: NodeJS.Signals) => {
    if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    try {
      process.kill(-proc.pid, signal);
    } catch {
      // already gone
    }
  };

  const terminate = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    signalGroup(proc, signal);
    const timer = sleep(graceMs, 'timeout' as const);
    if ((await Promise.race([exited, timer])) === 'timeout') {
      signalGroup(proc, 'SIGKILL');
      await exited;
    }
  };

  // Free ports can be taken between the probe and the bind: try a few sets on the first start.
  for (let attempt = 1; ; attempt++) {
    ports = { ingress: await freePort(), admin: await freePort(), node: await freePort() };
    try {
      await launch();
      break;
    } catch (error) {
      await terminate('SIGKILL', 0);
      const portClash = /address already in use|AddrInUse|os error 98/i.test(String(error));
      if (!portClash || attempt >= 3) {
        if (ownsDir) await rm(dataDir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  let stopped = false;
  return {
    ingressUrl: url(ports.ingress),
    adminUrl: url(ports.admin),
    nodePort: ports.node,
    dataDir,
    pid: () => child?.pid,
    logs: () => log,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate('SIGTERM', stopTimeoutMs);
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    },
    async kill9() {
      await terminate('SIGKILL', 0);
    },
    async restart() {
      if (stopped) throw new Error('restate-server was stopped for good');
      await terminate('SIGTERM', stopTimeoutMs);
      await launch();
    },
  };
}

/**
 * Ready = admin `/health` and ingress `/restate/health` answer 200 AND a query over the partitions works: right
 * after a (re)start both health checks pass 100–350 ms before the partition processors are up, and admin queries
 * fail meanwhile with `node lookup for partition 0 failed`.
 */
function waitHealthy(adminUrl: string, ingressUrl: string, timeoutMs: number): Promise<void> & { cancel(): void } {
  let cancelled = false;
  const deadline = Date.now() + timeoutMs;
  const ok = async (target: string, init?: RequestInit) => {
    try {
      const response = await fetch(target, { ...init, signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  };
  const partitionsUp = () =>
    ok(`${adminUrl}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: 'SELECT count(*) AS n FROM sys_invocation' }),
    });
  const promise = (async () => {
    while (!cancelled) {
      if ((await ok(`${adminUrl}/health`)) && (await ok(`${ingressUrl}/restate/health`)) && (await partitionsUp())) {
        return;
      }
      if (Date.now() > deadline && !cancelled) throw new Error(`restate-server not ready after ${timeoutMs} ms`);
      await sleep(25);
    }
  })();
  return Object.assign(promise, {
    cancel() {
      cancelled = true;
    },
  });
}

/**
 * The server runs in its own process group, so nothing kills it when the test process dies without running its
 * exit handlers (SIGKILL, a signal with no handler, `timeout`). A detached `sh` loop checks every second that the
 * test process is alive; when it is gone it kills the server's group and removes the temp data dir. It exits by
 * itself once the server group is gone.
 */
const WATCHDOG = `
parent=$1; group=$2; dir=$3
while kill -0 "$parent" 2>/dev/null; do
  kill -0 -"$group" 2>/dev/null || exit 0
  sleep 1
done
kill -KILL -"$group" 2>/dev/null
[ -n "$dir" ] && rm -rf "$dir"
exit 0`;

function startWatchdog(group: number, dir: string): void {
  if (process.platform === 'win32') return;
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'restate-watchdog', String(process.pid), String(group), dir], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.on('error', () => {});
  watchdog.unref();
}

/** Kills every server still running when the test process exits normally (a failed or timed-out worker). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of live) {
      if (proc.pid === undefined) continue;
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Admin API (Restate 1.7; unversioned paths behave like the newest version, /v3 and /v4 prefixes also work)
// ---------------------------------------------------------------------------------------------------------------

export interface RegisteredDeployment {
  /** 201 = created, 200 = this URI was already registered (unchanged, or overwritten with `force`). */
  status: number;
  id: string;
  services: Array<{ name: string; ty: string; revision: number; handlers: Array<{ name: string }> }>;
}

/**
 * `POST /deployments {uri, force}`: Restate calls `GET <uri>/discover` (h2c for `http://`) and registers the services.
 * 201 = new. The same URI again (with or without a trailing slash) answers 200 and changes NOTHING, even when the
 * endpoint now serves other services or handlers (no re-discovery, `breaking: true` does not help either); only
 * `force: true` re-discovers and overwrites in place (200, same deployment id, every service's revision + 1).
 * An unreachable URI answers 500 `META0003`.
 */
export async function registerDeployment(
  adminUrl: string,
  uri: string,
  options: { force?: boolean } = {},
): Promise<RegisteredDeployment> {
  const response = await fetch(`${adminUrl}/deployments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ uri, ...(options.force === undefined ? {} : { force: options.force }) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST /deployments ${uri}: ${response.status} ${text}`);
  const body = JSON.parse(text) as Omit<RegisteredDeployment, 'status'>;
  return { status: response.status, id: body.id, services: body.services };
}

/** `POST /query {query}` with `accept: application/json` → `{rows: [...]}` (SQL over sys_invocation, state, ...). */
export async function adminQuery<Row = Record<string, unknown>>(adminUrl: string, sql: string): Promise<Row[]> {
  const response = await fetch(`${adminUrl}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: sql }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST /query: ${response.status} ${text}`);
  return (JSON.parse(text) as { rows: Row[] }).rows;
}

/**
 * The invocation that holds a virtual object key's lock right now (the running exclusive handler), if any.
 * `sys_keyed_service_status` has one row per locked key; queued calls are in `sys_inbox`.
 */
export async function lockingInvocation(adminUrl: string, service: string, key: string): Promise<string | undefined> {
  const rows = await adminQuery<{ invocation_id: string }>(
    adminUrl,
    `SELECT invocation_id FROM sys_keyed_service_status WHERE service_name = ${sqlString(service)} AND service_key = ${sqlString(key)}`,
  );
  return rows[0]?.invocation_id;
}

/**
 * `PATCH /invocations/{id}/cancel`: 200 done, 202 accepted (delivered asynchronously to the running attempt),
 * 404 unknown id, 409 already completed. Returns the status code.
 */
export async function cancelInvocation(adminUrl: string, invocationId: string): Promise<number> {
  const response = await fetch(`${adminUrl}/invocations/${encodeURIComponent(invocationId)}/cancel`, {
    method: 'PATCH',
  });
  await response.arrayBuffer();
  return response.status;
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
