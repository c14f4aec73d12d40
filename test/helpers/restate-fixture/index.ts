/**
 * Starts the fixture Restate service endpoint (`service.ts`) as a child process, so a test can kill it hard,
 * and reads the JSON-lines log its steps write.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface FixtureService {
  port: number;
  pid: number;
  /** SIGKILL (a crash); waits for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM: the fixture closes its HTTP/2 sessions gracefully, then exits; SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** stdout + stderr so far (SDK logs). */
  output(): string;
}

export interface FixtureEvent {
  t: number;
  pid: number;
  name: string;
  event: string;
  key?: string;
  step?: number;
  [field: string]: unknown;
}

const servicePath = fileURLToPath(new URL('./service.ts', import.meta.url));
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startFixtureService(options: {
  logFile: string;
  name?: string;
  port?: number;
  env?: Record<string, string>;
}): Promise<FixtureService> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const proc of live) proc.kill('SIGKILL');
    });
  }
  const child = spawn(process.execPath, ['--no-warnings', servicePath], {
    env: {
      ...process.env,
      PORT: String(options.port ?? 0),
      FIXTURE_LOG: options.logFile,
      FIXTURE_NAME: options.name ?? 'fixture',
      RESTATE_LOGGING: 'WARN',
      ...options.env,
    },
    // stdin stays open as a lifeline: the fixture exits when it reads EOF (this process died, however it died).
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.once('exit', () => live.delete(child));
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fixture did not start:\n${output}`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /READY (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited (code ${code}, signal ${signal}):\n${output}`));
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('fixture has no pid');

  return {
    port,
    pid,
    output: () => output,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Every event in the fixture log so far (empty when the file does not exist yet). */
export async function readFixtureLog(logFile: string): Promise<FixtureEvent[]> {
  let text: string;
  try {
    text = await readFile(logFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FixtureEvent);
}

/** Polls the log until `predicate` holds for some event; returns that event. */
export async function waitForEvent(
  logFile: string,
  predicate: (event: FixtureEvent) => boolean,
  timeoutMs = 10_000,
): Promise<FixtureEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await readFixtureLog(logFile)).find(predicate);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `no matching fixture event within ${timeoutMs} ms:\n${JSON.stringify(await readFixtureLog(logFile))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
