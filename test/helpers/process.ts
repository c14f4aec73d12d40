import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  /** From spawn to exit, for figures printed (never asserted). */
  ms: number;
}

export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** Runs an entry point of the project as a process (through tsx, skipping the build), env given whole. */
export function startProcess(
  entry: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): { child: ChildProcess; exit: Promise<Exit> } {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', TSX, entry, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exit = new Promise<Exit>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })),
  );
  return { child, exit };
}
