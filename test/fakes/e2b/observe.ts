/**
 * What went into the sandboxes: every `Process.Start` (cmd, args, envs, cwd, user, stdin flag), every
 * `SendInput` payload and every `/files` write (its bytes kept on disk), plus `scanFor`, which looks for
 * needles (secrets) in all of them, in the sandboxes' filesystems, and in the create-time `envs`/`metadata`,
 * as plain text or base64 (standard or URL alphabet, any byte alignment).
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FakeSandbox } from './sandbox.js';

/** One `process.Process/Start` request, recorded before it is validated (a refused start is here too). */
export interface CommandRecord {
  /** Position among all recorded starts of this fake (0-based). */
  seq: number;
  sandboxId: string;
  cmd: string;
  args: string[];
  /** The request's `envs` (create-time `envs` come on top: `fake.sandbox(id).envVars`). */
  envs: Record<string, string>;
  /** `cwd` as sent (undefined = the home). */
  cwd: string | undefined;
  /** From `Authorization: Basic <user>:` (the SDK's `user` option); undefined when not sent. */
  user: string | undefined;
  /** Whether the process got a stdin pipe (envd keeps one unless the request says `stdin: false`). */
  stdin: boolean;
  tag?: string;
  /** `Connect-Timeout-Ms` (the command's `timeoutMs`), when sent. */
  connectTimeoutMs?: number;
  at: Date;
  /** Set once started. */
  pid?: number;
  /** Why the start was refused or failed (bad cwd, spawn error, pty, …). */
  error?: string;
  /** Set when the process ended. */
  exit?: { exitCode: number; status: string; at: Date };
}

/** One `process.Process/SendInput` payload (what `commands.sendStdin` sent). */
export interface StdinRecord {
  seq: number;
  sandboxId: string;
  pid: number;
  data: Uint8Array;
  at: Date;
}

/** One file written through `POST /files` (each file of a batch is its own record). */
export interface FileWriteRecord {
  seq: number;
  sandboxId: string;
  /** Host path written (= the path the SDK gets back). */
  path: string;
  /** The path as the client sent it (`path` query or the multipart filename). */
  requestedPath: string;
  size: number;
  sha256: string;
  /** `multipart` (the default) or `octet-stream` (streams, `gzip`, `useOctetStream`). */
  encoding: 'multipart' | 'octet-stream';
  gzip: boolean;
  /** How many files the request carried (> 1 = a batch `files.write([...])`). */
  filesInRequest: number;
  at: Date;
  /** A copy of the bytes as written (outside every sandbox root), for scanning after the file changed. */
  contentPath: string;
}

export type ScanLocation =
  | 'command-cmd'
  | 'command-args'
  | 'command-env'
  | 'command-cwd'
  | 'stdin'
  | 'sandbox-env'
  | 'metadata'
  | 'file'
  | 'file-write';

export interface ScanFinding {
  needle: string;
  encoding: 'plain' | 'base64';
  location: ScanLocation;
  sandboxId: string;
  /** Where exactly: `env GITHUB_TOKEN`, `args[2]`, `pid 4242`, a host path, … */
  detail: string;
  /** `seq` of the command / stdin / file-write record, when the finding is in one. */
  seq?: number;
}

export interface ScanOptions {
  /** Only these sandboxes (default: every sandbox the fake ever had). */
  sandboxIds?: string[];
  /** Skip walking the sandbox filesystems (records and create-time values are still scanned). */
  skipFilesystem?: boolean;
}

/** The base64 spellings of `needle` that appear inside any base64 text containing it, whatever its offset. */
export function base64Variants(needle: Buffer): string[] {
  const out = new Set<string>();
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), needle]).toString('base64');
    // only the characters made purely of needle bits are stable across offsets
    const stable = encoded.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + needle.length)) / 6));
    if (stable.length >= 4) {
      out.add(stable);
      out.add(stable.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...out];
}

interface Matcher {
  needle: string;
  plain: Buffer;
  base64: Buffer[];
}

function matchersOf(needles: string[]): Matcher[] {
  return needles.map((needle) => {
    if (needle.length === 0) throw new Error('e2b fake: scanFor needs non-empty needles');
    const plain = Buffer.from(needle, 'utf8');
    return { needle, plain, base64: base64Variants(plain).map((v) => Buffer.from(v, 'latin1')) };
  });
}

function matchIn(haystack: Buffer | string, matcher: Matcher): Array<'plain' | 'base64'> {
  const buf = typeof haystack === 'string' ? Buffer.from(haystack, 'utf8') : haystack;
  const found: Array<'plain' | 'base64'> = [];
  if (buf.includes(matcher.plain)) found.push('plain');
  if (matcher.base64.some((v) => buf.includes(v))) found.push('base64');
  return found;
}

export class Recorder {
  readonly commands: CommandRecord[] = [];
  readonly stdin: StdinRecord[] = [];
  readonly writes: FileWriteRecord[] = [];
  private dirMade = false;

  /** `writesDir` holds the copies of written files; it must be outside every sandbox root. */
  constructor(private readonly writesDir: string) {}

  startCommand(record: Omit<CommandRecord, 'seq' | 'at'>): CommandRecord {
    const full: CommandRecord = { seq: this.commands.length, at: new Date(), ...record };
    this.commands.push(full);
    return full;
  }

  stdinWrite(sandboxId: string, pid: number, data: Uint8Array): void {
    this.stdin.push({ seq: this.stdin.length, sandboxId, pid, data: new Uint8Array(data), at: new Date() });
  }

  async fileWrite(
    init: Omit<FileWriteRecord, 'seq' | 'at' | 'size' | 'sha256' | 'contentPath'>,
    data: Buffer,
  ): Promise<void> {
    if (!this.dirMade) {
      mkdirSync(this.writesDir, { recursive: true });
      this.dirMade = true;
    }
    const seq = this.writes.length;
    const contentPath = join(this.writesDir, `${seq}`);
    const record: FileWriteRecord = {
      seq,
      ...init,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      at: new Date(),
      contentPath,
    };
    this.writes.push(record);
    await writeFile(contentPath, data);
  }

  /** Every place a needle shows up, in record order, then the filesystems. Synchronous (reads files). */
  scan(needles: string[], sandboxes: FakeSandbox[], options: ScanOptions = {}): ScanFinding[] {
    const matchers = matchersOf(needles);
    const wanted = options.sandboxIds ? new Set(options.sandboxIds) : undefined;
    const included = (id: string) => !wanted || wanted.has(id);
    const findings: ScanFinding[] = [];
    const check = (haystack: Buffer | string, base: Omit<ScanFinding, 'needle' | 'encoding'>): void => {
      for (const matcher of matchers) {
        for (const encoding of matchIn(haystack, matcher)) findings.push({ needle: matcher.needle, encoding, ...base });
      }
    };

    for (const sandbox of sandboxes) {
      if (!included(sandbox.sandboxId)) continue;
      for (const [key, value] of Object.entries(sandbox.envVars)) {
        check(`${key}=${value}`, { location: 'sandbox-env', sandboxId: sandbox.sandboxId, detail: `env ${key}` });
      }
      for (const [key, value] of Object.entries(sandbox.metadata)) {
        check(`${key}=${value}`, { location: 'metadata', sandboxId: sandbox.sandboxId, detail: `metadata ${key}` });
      }
    }
    for (const c of this.commands) {
      if (!included(c.sandboxId)) continue;
      const base = { sandboxId: c.sandboxId, seq: c.seq };
      check(c.cmd, { ...base, location: 'command-cmd', detail: 'cmd' });
      c.args.forEach((arg, i) => {
        check(arg, { ...base, location: 'command-args', detail: `args[${i}]` });
      });
      for (const [key, value] of Object.entries(c.envs)) {
        check(`${key}=${value}`, { ...base, location: 'command-env', detail: `env ${key}` });
      }
      if (c.cwd !== undefined) check(c.cwd, { ...base, location: 'command-cwd', detail: 'cwd' });
    }
    for (const s of this.stdin) {
      if (!included(s.sandboxId)) continue;
      check(Buffer.from(s.data), { location: 'stdin', sandboxId: s.sandboxId, seq: s.seq, detail: `pid ${s.pid}` });
    }
    for (const w of this.writes) {
      if (!included(w.sandboxId)) continue;
      check(readFileSync(w.contentPath), {
        location: 'file-write',
        sandboxId: w.sandboxId,
        seq: w.seq,
        detail: w.path,
      });
    }
    if (!options.skipFilesystem) {
      for (const sandbox of sandboxes) {
        if (!included(sandbox.sandboxId)) continue;
        for (const path of walkFiles(sandbox.rootDir)) {
          let content: Buffer;
          try {
            content = readFileSync(path);
          } catch {
            continue; // vanished or unreadable
          }
          check(content, { location: 'file', sandboxId: sandbox.sandboxId, detail: path });
        }
      }
    }
    return findings;
  }
}

/** Regular files under `dir` (symlinks are not followed). */
function walkFiles(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  for (let current = stack.pop(); current !== undefined; current = stack.pop()) {
    let names: string[];
    try {
      names = readdirSync(current);
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(current, name);
      const st = (() => {
        try {
          return lstatSync(path);
        } catch {
          return undefined;
        }
      })();
      if (st?.isDirectory()) stack.push(path);
      else if (st?.isFile()) out.push(path);
    }
  }
  return out.sort();
}
