/**
 * A loopback fake of E2B for integration tests: the real `e2b` SDK talks to it over HTTP on 127.0.0.1.
 *
 * ```ts
 * const fake = await startFakeE2B();
 * const sbx = await Sandbox.create('base', { ...fake.connectionOpts, timeoutMs: 60_000 });
 * const home = (await sbx.commands.run('echo $HOME')).stdout.trim(); // === fake.sandbox(sbx.sandboxId)?.homeDir
 * await fake.close();
 * ```
 *
 * Point the SDK at it with the per-call options `{apiKey, apiUrl, sandboxUrl}` (`fake.connectionOpts`);
 * `Sandbox` instances keep them for later calls. (Env alternative: `E2B_API_KEY`, `E2B_API_URL`,
 * `E2B_SANDBOX_URL`.)
 *
 * Two servers: the control plane (`apiUrl`) and envd (`sandboxUrl`, routed by `E2b-Sandbox-Id`). Each
 * sandbox's filesystem is the real directory `<rootDir>/<sandboxId>`, its home (`$HOME`, default cwd)
 * `<rootDir>/<sandboxId>/home/user` — paths are host paths, not `/home/user`. See sandbox.ts.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ControlPlane, type ControlPlaneRequest, type FailRule } from './control-plane.js';
import { Envd, type EnvdRequest } from './envd.js';
import { egressModel, type NetworkInfo } from './network.js';
import {
  type CommandRecord,
  type FileWriteRecord,
  Recorder,
  type ScanFinding,
  type ScanOptions,
  type StdinRecord,
} from './observe.js';
import { defaultChildPath } from './process-service.js';
import { SandboxRegistry } from './registry.js';
import type { SandboxInfo } from './sandbox.js';

export type { ControlPlaneOp, ControlPlaneRequest, FailRule } from './control-plane.js';
export type { EnvdRequest } from './envd.js';
export type {
  EgressModel,
  NetworkChange,
  NetworkInfo,
  SandboxEgressProxy,
  SandboxNetworkConfig,
  SandboxNetworkRule,
} from './network.js';
export type {
  CommandRecord,
  FileWriteRecord,
  ScanFinding,
  ScanLocation,
  ScanOptions,
  StdinRecord,
} from './observe.js';
export type { SandboxEvent, SandboxInfo, SandboxState } from './sandbox.js';

export interface FakeE2BOptions {
  /** Default `e2b_test_key_0123456789`. */
  apiKey?: string;
  /** Reported to the SDK; default `0.6.4` (≥ 0.5.7 → octet-stream uploads possible, `closeStdin`, …). */
  envdVersion?: string;
  /** Base directory for sandbox roots; default a fresh `mkdtemp(os.tmpdir()/e2b-fake-)`, removed on close. */
  rootDir?: string;
  /** Lifetime when create sends no `timeout`; default 300 000 ms. */
  defaultTimeoutMs?: number;
  /**
   * The team's longest sandbox run (E2B: 1 h Hobby, 24 h Pro); default 3 600 000 (Hobby). create/connect asking
   * for more → 400 "Timeout cannot be greater than N hours"; setTimeout / connect on a running sandbox are
   * clamped so it never runs longer than this since it (re)started, like the API.
   */
  maxTimeoutMs?: number;
  /**
   * Running sandboxes allowed at once (E2B: 20 Hobby, 100+ Pro); default 20. Paused ones do not count. Over
   * it, create and resume (connect, auto-resume) answer 429 "you have reached the maximum number of
   * concurrent E2B sandboxes (N). …" (the SDK raises `RateLimitError`).
   */
  maxRunningSandboxes?: number;
  /**
   * envd's answer to a paused sandbox it will not auto-resume: `conflict` (default) 409 "The sandbox is
   * paused" (SDK `SandboxError`), or `not-found` 502 "The sandbox was not found" — what E2B's proxy answers.
   */
  pausedEnvd?: 'conflict' | 'not-found';
  /** PATH of child processes; default the Debian dirs + the dir of the running `node`. */
  childPath?: string;
  /** How often expired sandboxes are swept (besides on every request); default 200 ms. */
  sweepIntervalMs?: number;
  /** Template names `GET /templates/aliases/{name}` (the SDK's `Template.exists`) finds; default `['base']`. */
  templates?: string[];
}

export interface FakeE2BConnectionOpts {
  apiKey: string;
  apiUrl: string;
  sandboxUrl: string;
}

export interface FakeE2B {
  /** Control plane base URL (SDK `apiUrl` / `E2B_API_URL`). */
  readonly apiUrl: string;
  /** envd base URL for every sandbox (SDK `sandboxUrl` / `E2B_SANDBOX_URL`). */
  readonly sandboxUrl: string;
  readonly apiKey: string;
  /** Spread into `Sandbox.create` / `Sandbox.connect` / `Sandbox.list` / `Sandbox.kill` options. */
  readonly connectionOpts: FakeE2BConnectionOpts;
  /** Directory holding every sandbox root (`<rootDir>/<sandboxId>`). */
  readonly rootDir: string;
  /** Control-plane calls, in order (no key values). */
  readonly requests: ControlPlaneRequest[];
  /** envd calls (RPC + `/files` + `/health`), in order (no token values). */
  readonly envdRequests: EnvdRequest[];
  /** Every `Process.Start` in one sandbox, in order (refused ones too, with `error`). Copies. */
  commands(sandboxId: string): CommandRecord[];
  /** Every `Process.Start` of the fake, in order. Copies. */
  allCommands(): CommandRecord[];
  /** `SendInput` payloads (`commands.sendStdin`), in order; all sandboxes unless one is given. Copies. */
  stdinWrites(sandboxId?: string): StdinRecord[];
  /** Files written through `POST /files`, in order; all sandboxes unless one is given. Copies. */
  fileWrites(sandboxId?: string): FileWriteRecord[];
  /**
   * Every place a needle appears, plain or base64: command cmd/args/env/cwd, stdin payloads, create-time
   * envs and metadata, written files (as written) and every file now under a sandbox root. `[]` = clean.
   */
  scanFor(needles: string[], options?: ScanOptions): ScanFinding[];
  /** Network rules as the API got them: `allow_internet_access`, `network`, the firewall model, the history. */
  network(sandboxId: string): NetworkInfo;
  /** Snapshots of every sandbox ever created (killed ones included). */
  sandboxes(): SandboxInfo[];
  sandbox(id: string): SandboxInfo | undefined;
  /** Host directory that is the sandbox's `/home/user` (its `$HOME` and default cwd). */
  homeDir(id: string): string;
  /** Let the sandbox's lifetime run out now (kill, or pause when created with `onTimeout: 'pause'`). */
  expire(id: string): SandboxInfo;
  /** Kill the sandbox as if from elsewhere (its processes die, envd answers 502, connect answers 404). */
  kill(id: string): SandboxInfo;
  /** Make the next `times` control-plane calls of `op` fail with `status` and `{code, message}`. */
  failNext(rule: FailRule): void;
  /** Kill every process, stop both servers, remove the temp root (unless `rootDir` was given). */
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function urlOf(server: Server): string {
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startFakeE2B(options: FakeE2BOptions = {}): Promise<FakeE2B> {
  const apiKey = options.apiKey ?? 'e2b_test_key_0123456789';
  const ownRoot = options.rootDir === undefined;
  const rootDir = options.rootDir ?? (await mkdtemp(join(tmpdir(), 'e2b-fake-')));
  const childPath = options.childPath ?? defaultChildPath(dirname(process.execPath));
  const registry = new SandboxRegistry({
    baseDir: rootDir,
    envdVersion: options.envdVersion ?? '0.6.4',
    defaultTimeoutMs: options.defaultTimeoutMs ?? 300_000,
    maxTimeoutMs: options.maxTimeoutMs ?? 3_600_000,
    maxRunningSandboxes: options.maxRunningSandboxes ?? 20,
    childPath,
  });
  // outside every sandbox root (those are `<rootDir>/<sandboxId>`, ids never start with a dot)
  const recorder = new Recorder(join(rootDir, '.file-writes'));
  const controlPlane = new ControlPlane(registry, apiKey, options.templates);
  let apiServer: Server | undefined;
  let envd: Envd;
  let envdServer: Server;
  try {
    // loads the SDK descriptors; throws if they cannot be found
    envd = new Envd(registry, recorder, { childPath, pausedEnvd: options.pausedEnvd ?? 'conflict' });
    apiServer = await listen(controlPlane.handle);
    envdServer = await listen(envd.handle);
  } catch (err) {
    if (apiServer) await stop(apiServer);
    if (ownRoot) rmSync(rootDir, { recursive: true, force: true });
    throw err;
  }
  const api = apiServer;
  const sweeper = setInterval(() => registry.sweep(), options.sweepIntervalMs ?? 200);
  sweeper.unref();

  const apiUrl = urlOf(api);
  const sandboxUrl = urlOf(envdServer);
  let closed = false;
  const must = (id: string) => {
    const sandbox = registry.sandboxes.get(id);
    if (!sandbox) throw new Error(`e2b fake: no sandbox ${id}`);
    return sandbox;
  };

  return {
    apiUrl,
    sandboxUrl,
    apiKey,
    connectionOpts: { apiKey, apiUrl, sandboxUrl },
    rootDir,
    requests: controlPlane.requests,
    envdRequests: envd.requests,
    commands: (id) => recorder.commands.filter((c) => c.sandboxId === id).map((c) => structuredClone(c)),
    allCommands: () => recorder.commands.map((c) => structuredClone(c)),
    stdinWrites: (id) =>
      recorder.stdin.filter((s) => id === undefined || s.sandboxId === id).map((s) => structuredClone(s)),
    fileWrites: (id) =>
      recorder.writes.filter((w) => id === undefined || w.sandboxId === id).map((w) => structuredClone(w)),
    scanFor: (needles, scanOptions) => recorder.scan(needles, [...registry.sandboxes.values()], scanOptions),
    network: (id) => {
      const sandbox = must(id);
      return {
        allowInternetAccess: sandbox.allowInternetAccess,
        network: sandbox.network === undefined ? undefined : structuredClone(sandbox.network),
        egress: egressModel(sandbox.network, sandbox.allowInternetAccess),
        history: structuredClone(sandbox.networkHistory),
      };
    },
    sandboxes: () => {
      registry.sweep();
      return [...registry.sandboxes.values()].map((s) => s.info());
    },
    sandbox: (id) => registry.get(id)?.info(),
    homeDir: (id) => must(id).homeDir,
    expire: (id) => registry.expire(id),
    kill: (id) => registry.kill(id),
    failNext: (rule) => controlPlane.failNext(rule),
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      await registry.closeAll();
      await Promise.all([stop(api), stop(envdServer)]);
      if (ownRoot) rmSync(rootDir, { recursive: true, force: true });
    },
  };
}
