import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { apiError, HttpError, parseJsonBody, type RouteResult, Router, readBody, safeDecode } from './http.js';
import { registerAppRoutes, verifyAppJwt } from './rest-app.js';
import { registerGitRoutes } from './rest-git.js';
import { registerPullRoutes } from './rest-pulls.js';
import { basicToken, GIT_PATH_RE, handleGitRequest } from './smart-http.js';
import type { Caller, FakeState, RestContext } from './state.js';
import { DOCS_URL, type FailRule, type GitRequestRecord, type RecordedRequest } from './types.js';

interface ArmedRule {
  rule: FailRule;
  remaining: number;
}

/** Routes each request to git smart-HTTP or REST, records it, and applies `failNext` rules. */
export class Dispatcher {
  readonly requests: RecordedRequest[] = [];
  readonly gitRequests: GitRequestRecord[] = [];
  readonly failures: ArmedRule[] = [];
  private readonly router = new Router<RestContext>();

  constructor(
    private readonly state: FakeState,
    private readonly debug: boolean,
  ) {
    registerGitRoutes(this.router);
    registerPullRoutes(this.router);
    registerAppRoutes(this.router);
  }

  /** The `http.createServer` listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.handle(req, res).catch((error: unknown) => {
      this.debugLog(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
      if (!res.headersSent) this.sendJson(res, 500, { message: String(error) });
      else res.destroy();
    });
  };

  debugLog(line: string): void {
    if (this.debug) process.stderr.write(`[fake-github] ${line}\n`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const authorization = req.headers.authorization;
    const scheme = authorization ? authScheme(authorization) : undefined;
    const gitMatch = GIT_PATH_RE.exec(safeDecode(url.pathname));
    res.on('finish', () => this.debugLog(`${method} ${safeDecode(url.pathname)} -> ${res.statusCode}`));

    if (gitMatch) {
      const record: GitRequestRecord = {
        method,
        repo: `${gitMatch[1]}/${gitMatch[2]}`,
        endpoint: gitMatch[3] as GitRequestRecord['endpoint'],
        service: (gitMatch[3] === 'info/refs'
          ? url.searchParams.get('service')
          : gitMatch[3]) as GitRequestRecord['service'],
        authPresent: authorization !== undefined,
        status: 0,
        injected: false,
      };
      this.gitRequests.push(record);
      res.on('finish', () => {
        record.status = res.statusCode;
      });
      if (this.injectFailure(method, safeDecode(url.pathname), res)) {
        record.injected = true;
        req.resume();
        return;
      }
      handleGitRequest(this.state, req, res, url, gitMatch, record, (line) => this.debugLog(line));
      return;
    }

    const apiPath = url.pathname.startsWith('/api/v3/') ? url.pathname.slice('/api/v3'.length) : url.pathname;
    const rawBody = await readBody(req);
    const record: RecordedRequest = {
      method,
      path: safeDecode(apiPath),
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      authPresent: authorization !== undefined,
      authScheme: scheme,
      status: 0,
      injected: false,
    };
    try {
      record.body = rawBody.length ? JSON.parse(rawBody.toString('utf8')) : undefined;
    } catch {
      record.body = rawBody.toString('utf8');
    }
    this.requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    if (this.injectFailure(method, record.path, res)) {
      record.injected = true;
      return;
    }
    try {
      const result = await this.route(method, apiPath, authorization, url.searchParams, rawBody, record);
      this.sendJson(res, result.status, result.body, result.headers);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      this.sendJson(res, error.status, error.body, error.headers);
    }
  }

  private async route(
    method: string,
    apiPath: string,
    authorization: string | undefined,
    query: URLSearchParams,
    rawBody: Buffer,
    record: RecordedRequest,
  ): Promise<RouteResult> {
    const matched = this.router.match(method, apiPath);
    if (!matched) {
      this.debugLog(`no fake route for ${method} ${apiPath}`);
      throw apiError(404, 'Not Found');
    }
    // Octokit sends `token <t>` (or `bearer <jwt>` for App JWTs); GitHub also takes Basic with the token as password.
    const credential = /^(?:token|bearer)\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? basicToken(authorization);
    let caller: Caller | undefined;
    if (matched.route.auth === 'jwt') {
      if (!credential) throw apiError(401, 'A JSON web token could not be decoded');
      verifyAppJwt(credential, this.state.app);
      caller = { login: this.state.app?.slug ?? 'fake-app', kind: 'app' };
    } else {
      if (!credential) throw apiError(401, 'Requires authentication');
      caller = this.state.caller(credential);
      if (!caller) throw apiError(401, 'Bad credentials');
    }
    record.login = caller.login;
    const ctx: RestContext = { state: this.state, caller, body: parseJsonBody(rawBody), query };
    return matched.route.handler(ctx, matched.params);
  }

  private injectFailure(method: string, path: string, res: ServerResponse): boolean {
    const armed = this.failures.find(
      ({ rule }) =>
        (!rule.method || rule.method.toUpperCase() === method) &&
        (!rule.pathIncludes || path.includes(rule.pathIncludes)),
    );
    if (!armed) return false;
    armed.remaining -= 1;
    if (armed.remaining <= 0) this.failures.splice(this.failures.indexOf(armed), 1);
    const { status, body, headers } = armed.rule;
    this.sendJson(
      res,
      status,
      body ?? { message: STATUS_CODES[status] ?? 'Error', documentation_url: DOCS_URL },
      headers,
    );
    return true;
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const reset = String(Math.floor(Date.now() / 1000) + 3600);
    const base: Record<string, string> = {
      'x-github-request-id': `FAKE:${Math.random().toString(16).slice(2, 10).toUpperCase()}`,
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-used': '1',
      'x-ratelimit-reset': reset,
      'x-ratelimit-resource': 'core',
    };
    if (status === 204 || body === undefined) {
      res.writeHead(status, { ...base, ...headers });
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...base,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }
}

function authScheme(header: string): RecordedRequest['authScheme'] {
  const scheme = header.split(/\s+/)[0]?.toLowerCase();
  return scheme === 'token' || scheme === 'bearer' || scheme === 'basic' ? scheme : 'other';
}
