/**
 * Server-side checks on `git push`, the way GitHub reports them: git's `proc-receive` hook (git ≥ 2.29)
 * lets the server answer each ref with `ng <ref> <reason>`, which the pusher sees as
 * `! [remote rejected] <src> -> <dst> (<reason>)` — GitHub's own format for workflow refusals.
 *
 * `git http-backend` runs receive-pack with `core.hooksPath` pointing at a tiny Node hook that forwards
 * the ref updates to the fake (`POST /_fake/receive-hook/<session>`); the fake decides with the
 * pusher's identity and answers `ok` (receive-pack then updates the ref itself: `fall-through`) or `ng`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiError, type Router } from './http.js';
import type { Caller, FakeState, InternalContext, RepoRecord } from './state.js';
import { mayWriteWorkflows, workflowChangesOfRefUpdate, workflowRefusal } from './workflows.js';

const ZERO = /^0+$/;

/** The hook: speaks receive-pack's pkt-line protocol and asks the fake over HTTP. Plain ESM, no imports beyond node:. */
const HOOK_SOURCE = `// proc-receive hook of the fake GitHub (written by test/fakes/github/receive-hook.ts)
import { request } from 'node:http';

let buffer = Buffer.alloc(0);
let ended = false;
let wake;
process.stdin.on('data', (chunk) => { buffer = Buffer.concat([buffer, chunk]); wake?.(); });
process.stdin.on('end', () => { ended = true; wake?.(); });

/** The next pkt-line (without its newline), or null for a flush packet. */
async function readPacket() {
  for (;;) {
    if (buffer.length >= 4) {
      const length = Number.parseInt(buffer.subarray(0, 4).toString('latin1'), 16);
      if (length === 0) { buffer = buffer.subarray(4); return null; }
      if (buffer.length >= length) {
        const line = buffer.subarray(4, length).toString('utf8');
        buffer = buffer.subarray(length);
        return line.replace(/\\n$/, '');
      }
    }
    if (ended) throw new Error('proc-receive: unexpected end of input');
    await new Promise((resolve) => { wake = resolve; });
    wake = undefined;
  }
}

const packet = (line) => {
  const data = Buffer.from(line + '\\n');
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0')), data]);
};
const FLUSH = Buffer.from('0000');

function ask(url, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error('fake GitHub answered ' + res.statusCode + ': ' + text));
        else resolve(JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

while ((await readPacket()) !== null) {} // version=1 and capabilities: we want none of them
process.stdout.write(Buffer.concat([packet('version=1'), FLUSH]));
const commands = [];
for (let line = await readPacket(); line !== null; line = await readPacket()) {
  const [oldSha, newSha, ref] = line.split(' ');
  commands.push({ oldSha, newSha, ref });
}
const { results } = await ask(process.env.FAKE_GITHUB_HOOK_URL, { commands });
const out = [];
for (const result of results) {
  if (result.ok) out.push(packet('ok ' + result.ref), packet('option fall-through'));
  else out.push(packet('ng ' + result.ref + ' ' + result.reason));
}
out.push(FLUSH);
process.stdout.write(Buffer.concat(out));
`;

/** Writes the hook into `<rootDir>/hooks` (an executable `proc-receive` that runs this Node). */
export async function installReceiveHook(hooksDir: string): Promise<void> {
  await mkdir(hooksDir, { recursive: true });
  const script = join(hooksDir, 'proc-receive.mjs');
  await writeFile(script, HOOK_SOURCE);
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  // NODE_OPTIONS is dropped: a test runner's loaders must not run inside git's hook.
  const wrapper = `#!/bin/sh\nNODE_OPTIONS= exec ${quote(process.execPath)} ${quote(script)}\n`;
  await writeFile(join(hooksDir, 'proc-receive'), wrapper);
  await chmod(join(hooksDir, 'proc-receive'), 0o755);
}

/** One push's identity, for the hook to call back with. */
export interface ReceiveSession {
  repo: RepoRecord;
  caller: Caller;
}

const sessions = new WeakMap<FakeState, Map<string, ReceiveSession>>();

function sessionsOf(state: FakeState): Map<string, ReceiveSession> {
  let map = sessions.get(state);
  if (!map) {
    map = new Map();
    sessions.set(state, map);
  }
  return map;
}

/**
 * Environment for `git http-backend` serving a push: the hook, the refs it handles, and where it calls
 * back. Returns the env additions and a function that ends the session.
 */
export function receiveHookEnv(
  state: FakeState,
  session: ReceiveSession,
): { env: Record<string, string>; end: () => void } {
  const nonce = randomBytes(18).toString('base64url');
  sessionsOf(state).set(nonce, session);
  return {
    env: {
      GIT_CONFIG_COUNT: '3',
      GIT_CONFIG_KEY_0: 'core.hooksPath',
      GIT_CONFIG_VALUE_0: state.hooksDir,
      GIT_CONFIG_KEY_1: 'receive.procReceiveRefs',
      GIT_CONFIG_VALUE_1: 'refs/heads',
      GIT_CONFIG_KEY_2: 'receive.procReceiveRefs',
      GIT_CONFIG_VALUE_2: 'refs/tags',
      FAKE_GITHUB_HOOK_URL: `${state.serverUrl}/_fake/receive-hook/${nonce}`,
    },
    end: () => sessionsOf(state).delete(nonce),
  };
}

interface Command {
  oldSha: string;
  newSha: string;
  ref: string;
}

export function registerReceiveHookRoute(internal: Router<InternalContext>): void {
  internal.add(
    'POST',
    '/receive-hook/:nonce',
    async (ctx, p) => {
      const session = sessionsOf(ctx.state).get(p.nonce ?? '');
      if (!session) throw apiError(404, 'no such push');
      const { commands } = JSON.parse(ctx.body.toString('utf8')) as { commands: Command[] };
      const results = [];
      for (const { oldSha, newSha, ref } of commands) {
        let reason: string | undefined;
        if (!ZERO.test(newSha) && !mayWriteWorkflows(session.caller)) {
          const current = ZERO.test(oldSha) ? undefined : oldSha;
          const [path] = await workflowChangesOfRefUpdate(session.repo, current, newSha);
          if (path !== undefined) reason = workflowRefusal(session.caller, path);
        }
        results.push(reason === undefined ? { ref, ok: true } : { ref, ok: false, reason });
      }
      return { status: 200, body: { results } };
    },
    'none',
  );
}
