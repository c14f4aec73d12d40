/**
 * `process.Process` for the fake envd: Start, Connect, List, SendSignal, SendInput, CloseStdin (Update and
 * StreamInput answer `unimplemented`: no PTY support).
 */
import { existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import { methodOf } from './descriptors.js';
import { FakeProcess, type ProcessEvent } from './processes.js';
import { type EnvdContext, serverStreaming, unary } from './rpc.js';
import { type FakeSandbox, PathOutsideSandboxError } from './sandbox.js';

interface ProcessConfigMsg {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
}

interface SelectorMsg {
  selector: { case: 'pid'; value: number } | { case: 'tag'; value: string } | { case: undefined; value?: undefined };
}

interface StartRequestMsg {
  process?: ProcessConfigMsg;
  pty?: unknown;
  tag?: string;
  stdin?: boolean;
}

/** Default keepalive when the client sends no `Keepalive-Ping-Interval` (seconds), like envd. */
const DEFAULT_KEEPALIVE_S = 50;

function keepaliveMs(ctx: HandlerContext): number {
  const raw = Number(ctx.requestHeader.get('keepalive-ping-interval'));
  return (Number.isFinite(raw) && raw > 0 ? raw : DEFAULT_KEEPALIVE_S) * 1000;
}

function connectTimeoutMs(ctx: HandlerContext): number | undefined {
  const raw = ctx.requestHeader.get('connect-timeout-ms');
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ConnectError(`invalid Connect-Timeout-Ms: ${raw}`, Code.InvalidArgument);
  return n;
}

function eventMsg(event: ProcessEvent) {
  if (event.type === 'data') {
    return { event: { event: { case: 'data', value: { output: { case: event.stream, value: event.data } } } } };
  }
  const { exitCode, exited, status, error } = event.end;
  return {
    event: {
      event: { case: 'end', value: { exitCode, exited, status, ...(error !== undefined ? { error } : {}) } },
    },
  };
}

const keepaliveMsg = { event: { event: { case: 'keepalive', value: {} } } };

function startMsg(pid: number) {
  return { event: { event: { case: 'start', value: { pid } } } };
}

/**
 * Forward a process's events to one stream until it ends or the client goes away. A keepalive is sent
 * after each quiet `Keepalive-Ping-Interval`. Returning early never kills the process (envd semantics).
 */
async function* follow(proc: FakeProcess, ctx: HandlerContext) {
  const interval = keepaliveMs(ctx);
  const queue: ProcessEvent[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = proc.subscribe((event) => {
    queue.push(event);
    wake?.();
  });
  try {
    for (;;) {
      let event = queue.shift();
      while (event) {
        yield eventMsg(event);
        if (event.type === 'end') return;
        event = queue.shift();
      }
      if (ctx.signal.aborted) return;
      const why = await new Promise<'event' | 'keepalive' | 'abort'>((resolve) => {
        const timer = setTimeout(() => done('keepalive'), interval);
        const onAbort = () => done('abort');
        function done(reason: 'event' | 'keepalive' | 'abort') {
          clearTimeout(timer);
          ctx.signal.removeEventListener('abort', onAbort);
          wake = undefined;
          resolve(reason);
        }
        wake = () => done('event');
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
      if (why === 'abort') return;
      if (why === 'keepalive') yield keepaliveMsg;
    }
  } finally {
    unsubscribe();
  }
}

function findProcess(sandbox: FakeSandbox, selectorHolder: SelectorMsg | undefined): FakeProcess {
  const selector = selectorHolder?.selector;
  if (selector?.case === 'pid') {
    const proc = sandbox.processes.get(selector.value);
    if (proc) return proc;
    throw new ConnectError(`process with pid ${selector.value} not found`, Code.NotFound);
  }
  if (selector?.case === 'tag') {
    for (const proc of sandbox.processes.values()) if (proc.tag === selector.value) return proc;
    throw new ConnectError(`process with tag ${selector.value} not found`, Code.NotFound);
  }
  throw new ConnectError('process selector is required', Code.InvalidArgument);
}

function childEnv(
  sandbox: FakeSandbox,
  childPath: string,
  requestEnvs: Record<string, string>,
): Record<string, string> {
  // envd: PATH, HOME, USER, LOGNAME, then the sandbox's global env vars, then the request's (last wins).
  return {
    PATH: childPath,
    HOME: sandbox.homeDir,
    TMPDIR: join(sandbox.rootDir, 'tmp'),
    USER: 'user',
    LOGNAME: 'user',
    ...sandbox.envVars,
    ...requestEnvs,
  };
}

/** User from `Authorization: Basic base64("<user>:")` (the SDK's `user` option). */
function userOf(authorization: string | null): string | undefined {
  const m = /^Basic\s+(.+)$/i.exec(authorization ?? '');
  if (!m?.[1]) return undefined;
  return Buffer.from(m[1], 'base64').toString('utf8').split(':')[0];
}

/** Validate a Start request and spawn its process in the sandbox (registered until it exits). */
async function startProcess(
  sandbox: FakeSandbox,
  req: StartRequestMsg,
  ctx: HandlerContext,
  childPath: string,
): Promise<FakeProcess> {
  if (req.pty) throw new ConnectError('pty is not supported by the e2b fake', Code.Unimplemented);
  const config = req.process;
  if (!config?.cmd) throw new ConnectError('process.cmd is required', Code.InvalidArgument);
  let cwd = sandbox.homeDir;
  if (config.cwd) {
    try {
      cwd = sandbox.resolvePath(config.cwd);
    } catch (err) {
      if (err instanceof PathOutsideSandboxError) throw new ConnectError(err.message, Code.InvalidArgument);
      throw err;
    }
    if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
      throw new ConnectError(`cwd '${cwd}' does not exist`, Code.InvalidArgument);
    }
  }
  const timeoutMs = connectTimeoutMs(ctx);
  let proc: FakeProcess;
  try {
    proc = await FakeProcess.start({
      config: {
        cmd: config.cmd,
        args: [...config.args],
        envs: { ...config.envs },
        ...(config.cwd ? { cwd: config.cwd } : {}),
      },
      ...(req.tag !== undefined ? { tag: req.tag } : {}),
      cwd,
      env: childEnv(sandbox, childPath, config.envs),
      // envd keeps a stdin pipe unless stdin is explicitly false
      stdin: req.stdin !== false,
      ...(timeoutMs ? { timeoutMs } : {}),
    });
  } catch (err) {
    throw new ConnectError(`error starting process '${config.cmd}': ${String(err)}`, Code.InvalidArgument);
  }
  sandbox.processes.set(proc.pid, proc);
  proc.onExit(() => sandbox.processes.delete(proc.pid));
  return proc;
}

export function registerProcessService(router: ConnectRouter, service: DescService, env: EnvdContext): void {
  router.rpc(
    ...serverStreaming(methodOf(service, 'Start'), async function* (req: StartRequestMsg, ctx) {
      const sandbox = env.sandboxOf(ctx);
      const config = req.process;
      const timeoutHeader = ctx.requestHeader.get('connect-timeout-ms');
      const record = env.recorder.startCommand({
        sandboxId: sandbox.sandboxId,
        cmd: config?.cmd ?? '',
        args: [...(config?.args ?? [])],
        envs: { ...(config?.envs ?? {}) },
        cwd: config?.cwd || undefined,
        user: userOf(ctx.requestHeader.get('authorization')),
        stdin: req.stdin !== false,
        ...(req.tag !== undefined ? { tag: req.tag } : {}),
        ...(timeoutHeader ? { connectTimeoutMs: Number(timeoutHeader) } : {}),
      });
      let proc: FakeProcess;
      try {
        proc = await startProcess(sandbox, req, ctx, env.childPath);
      } catch (err) {
        record.error = err instanceof Error ? err.message : String(err);
        throw err;
      }
      record.pid = proc.pid;
      proc.onExit(() => {
        const end = proc.ended;
        if (end) record.exit = { exitCode: end.exitCode, status: end.status, at: new Date() };
      });
      yield startMsg(proc.pid);
      yield* follow(proc, ctx);
    }),
  );

  router.rpc(
    ...serverStreaming(methodOf(service, 'Connect'), async function* (req: { process?: SelectorMsg }, ctx) {
      const proc = findProcess(env.sandboxOf(ctx), req.process);
      yield startMsg(proc.pid);
      yield* follow(proc, ctx);
    }),
  );

  router.rpc(
    ...unary(methodOf(service, 'List'), (_req: unknown, ctx) => {
      const sandbox = env.sandboxOf(ctx);
      return {
        processes: [...sandbox.processes.values()].map((p) => ({
          pid: p.pid,
          ...(p.tag !== undefined ? { tag: p.tag } : {}),
          config: {
            cmd: p.config.cmd,
            args: p.config.args,
            envs: p.config.envs,
            ...(p.config.cwd ? { cwd: p.config.cwd } : {}),
          },
        })),
      };
    }),
  );

  router.rpc(
    ...unary(methodOf(service, 'SendSignal'), (req: { process?: SelectorMsg; signal: number }, ctx) => {
      const proc = findProcess(env.sandboxOf(ctx), req.process);
      // enum process.Signal: SIGNAL_SIGKILL = 9, SIGNAL_SIGTERM = 15
      if (req.signal === 9) proc.signal('SIGKILL');
      else if (req.signal === 15) proc.signal('SIGTERM');
      else throw new ConnectError(`invalid signal: ${req.signal}`, Code.InvalidArgument);
      return {};
    }),
  );

  router.rpc(
    ...unary(
      methodOf(service, 'SendInput'),
      (
        req: {
          process?: SelectorMsg;
          input?: { input: { case: 'stdin' | 'pty'; value: Uint8Array } | { case: undefined } };
        },
        ctx,
      ) => {
        const sandbox = env.sandboxOf(ctx);
        const proc = findProcess(sandbox, req.process);
        const input = req.input?.input;
        if (input?.case === 'pty') throw new ConnectError('pty is not supported by the e2b fake', Code.Unimplemented);
        if (input?.case !== 'stdin') throw new ConnectError('input is required', Code.InvalidArgument);
        env.recorder.stdinWrite(sandbox.sandboxId, proc.pid, input.value);
        try {
          proc.writeStdin(input.value);
        } catch (err) {
          throw new ConnectError(`error writing to stdin of process '${proc.pid}': ${String(err)}`, Code.Internal);
        }
        return {};
      },
    ),
  );

  router.rpc(
    ...unary(methodOf(service, 'CloseStdin'), (req: { process?: SelectorMsg }, ctx) => {
      findProcess(env.sandboxOf(ctx), req.process).closeStdin();
      return {};
    }),
  );
}

/** A minimal PATH for children: the usual Debian dirs plus the directory of the running `node`. */
export function defaultChildPath(nodeBinDir: string): string {
  const dirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  if (!dirs.includes(nodeBinDir)) dirs.push(nodeBinDir);
  return dirs.join(delimiter);
}
