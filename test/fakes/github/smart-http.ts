import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isolatedGitEnv } from './git.js';
import { receiveHookEnv } from './receive-hook.js';
import { type Caller, type FakeState, fullName, type RepoRecord } from './state.js';
import type { GitRequestRecord } from './types.js';

/** `/<owner>/<repo>[.git]/(info/refs|git-upload-pack|git-receive-pack)` */
export const GIT_PATH_RE = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;

type Service = 'git-upload-pack' | 'git-receive-pack';

/** `Authorization: Basic base64(user:token)` → token (the password, or the user when the password is empty). */
export function basicToken(header: string | undefined): string | undefined {
  const match = /^basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  return password || user || undefined;
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

interface Denial {
  status: number;
  text: string;
  headers?: Record<string, string>;
}

const ASK_FOR_AUTH: Denial = {
  status: 401,
  text: 'Authentication required',
  headers: { 'www-authenticate': 'Basic realm="GitHub"' },
};

/**
 * GitHub-like access rules: anonymous reads of public repos only, 401 (so git asks for
 * credentials) otherwise, 404 for repos a token cannot see, 403 for pushes without push rights.
 */
function accessDenial(
  state: FakeState,
  service: Service | null,
  tokenSent: boolean,
  caller: Caller | undefined,
  repo: RepoRecord | undefined,
): Denial | undefined {
  if (service !== 'git-upload-pack' && service !== 'git-receive-pack') {
    return { status: 403, text: 'Please upgrade your git client (smart HTTP only).' };
  }
  if (tokenSent && !caller) return { ...ASK_FOR_AUTH, text: 'Invalid username or token.' };
  if (!repo || !state.canSee(caller, repo))
    return caller ? { status: 404, text: 'Repository not found.' } : ASK_FOR_AUTH;
  if (service === 'git-receive-pack') {
    if (!caller) return ASK_FOR_AUTH;
    if (!state.hasPushRole(caller, repo)) {
      return { status: 403, text: `Permission to ${fullName(repo)}.git denied to ${caller.login}.` };
    }
    if (repo.archived) return { status: 403, text: 'This repository was archived so it is read-only.' };
  }
  return undefined;
}

/**
 * Serves one smart-HTTP request through `git http-backend` (CGI) after `accessDenial`.
 * `REMOTE_USER` is set only for callers who may push, which is what enables receive-pack.
 */
export function handleGitRequest(
  state: FakeState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  match: RegExpExecArray,
  record: GitRequestRecord,
  debugLog: (line: string) => void,
): void {
  const [, owner = '', name = '', endpoint = ''] = match;
  const service = (endpoint === 'info/refs' ? url.searchParams.get('service') : endpoint) as Service | null;
  const token = basicToken(req.headers.authorization);
  const caller: Caller | undefined = token ? state.caller(token) : undefined;
  if (caller) record.login = caller.login;
  const repo = state.findRepo(owner, name);
  const denial = accessDenial(state, service, token !== undefined, caller, repo);
  if (denial || !repo) {
    req.resume();
    plain(res, denial?.status ?? 404, denial?.text ?? 'Repository not found.', denial?.headers);
    return;
  }
  const canPush = caller !== undefined && state.hasPushRole(caller, repo);
  // A push runs the proc-receive hook, which asks the fake about each ref (workflow files and the like).
  const hook = canPush && endpoint === 'git-receive-pack' ? receiveHookEnv(state, { repo, caller }) : undefined;
  if (hook) res.on('close', hook.end);

  const env = isolatedGitEnv({
    ...hook?.env,
    GIT_PROJECT_ROOT: state.reposRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: `/${repo.owner}/${repo.name}.git/${endpoint}`,
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    CONTENT_LENGTH: req.headers['content-length'],
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_USER: canPush ? caller?.login : undefined,
    AUTH_TYPE: caller ? 'Basic' : undefined,
    GIT_PROTOCOL: header(req, 'git-protocol'),
    HTTP_CONTENT_ENCODING: header(req, 'content-encoding'),
  });
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.on('error', () => {}); // http-backend may answer (e.g. 403) before reading the body
  req.pipe(child.stdin);
  res.on('close', () => {
    if (!res.writableFinished) child.kill(); // the client went away
  });

  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      if (!res.write(chunk)) {
        child.stdout.pause();
        res.once('drain', () => child.stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, chunk]);
    const split = findHeaderEnd(head);
    if (!split) return;
    headersDone = true;
    const { status, headers } = parseCgiHeaders(head.subarray(0, split.index).toString('latin1'));
    res.writeHead(status, headers);
    const rest = head.subarray(split.index + split.length);
    if (rest.length > 0) res.write(rest);
  });
  child.on('error', (error) => {
    debugLog(`git http-backend failed to start: ${error.message}`);
    if (!res.headersSent) plain(res, 500, 'git http-backend failed');
  });
  child.on('close', (code) => {
    const errText = Buffer.concat(stderr).toString('utf8').trim();
    if (errText) debugLog(`git http-backend (${code}): ${errText}`);
    if (!headersDone) {
      if (!res.headersSent) plain(res, 502, `git http-backend produced no response: ${errText}`);
      return;
    }
    res.end();
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function findHeaderEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(text: string): { status: number; headers: Record<string, string | string[]> } {
  let status = 200;
  const headers: Record<string, string | string[]> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      status = Number.parseInt(value, 10) || 500;
      continue;
    }
    const existing = headers[name];
    headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return { status, headers };
}
