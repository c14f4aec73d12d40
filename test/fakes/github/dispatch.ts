import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { apiError, HttpError, parseJsonBody, type RouteResult, Router, readBody, safeDecode } from './http.js';
import { registerReceiveHookRoute } from './receive-hook.js';
import { registerAppRoutes, verifyAppJwt } from './rest-app.js';
import { registerCheckRoutes } from './rest-checks.js';
import { registerContentRoutes } from './rest-contents.js';
import { registerGitRoutes } from './rest-git.js';
import { registerPullRoutes } from './rest-pulls.js';
import { registerReviewRoutes } from './rest-reviews.js';
import { basicToken, GIT_PATH_RE, handleGitRequest } from './smart-http.js';
import { type Caller, credentialKey, type FakeState, type InternalContext, type RestContext } from './state.js';
import { DOCS_URL, type FailRule, type GitRequestRecord, type RecordedRequest } from './types.js';

interface ArmedRule {
  rule: FailRule;
  remaining: number;
}

const HOUR_S = 3600;

/** Primary rate-limit accounting per token identity, like GitHub's `x-ratelimit-*` headers. */
interface RateWindow {
  limit: number;
  used: number;
  reset: number;
}

/** Routes each request to git smart-HTTP or REST, records it, and applies `failNext` rules. */
export class Dispatcher {
  readonly requests: RecordedRequest[] = [];
  readonly gitRequests: GitRequestRecord[] = [];
  readonly failures: ArmedRule[] = [];
  private readonly router = new Router<RestContext>();
  /** `/_fake/…`: URLs the fake hands out (log downloads, git hook callbacks); no authentication. */
  private readonly internal = new Router<InternalContext>();
  private readonly rateWindows = new Map<string, RateWindow>();

  constructor(
    private readonly state: FakeState,
    private readonly debug: boolean,
  ) {
    registerGitRoutes(this.router);
    registerPullRoutes(this.router);
    registerAppRoutes(this.router);
    registerContentRoutes(this.router, this.internal);
    registerCheckRoutes(this.router, this.internal);
    registerReviewRoutes(this.router);
    registerReceiveHookRoute(this.internal);
  }

  /** The `http.createServer` listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.handle(req, res).catch((error: unknown) => {
      this.debugLog(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
      if (!res.headersSent) this.send(res, { status: 500, body: { message: String(error) } }, {});
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

    if (url.pathname.startsWith('/_fake/')) {
      await this.handleInternal(method, url, req, res);
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
    const who: { caller?: Caller } = {};
    let result: RouteResult;
    try {
      result = await this.route(method, apiPath, authorization, url.searchParams, rawBody, req, record, who);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      result = { status: error.status, body: error.body, headers: error.headers };
    }
    const headers = { ...result.headers };
    if (who.caller?.scopes) headers['x-oauth-scopes'] = who.caller.scopes.join(', ');
    // Conditional requests: every 200 GET carries an ETag (per token, as on GitHub); a matching
    // If-None-Match gets an empty 304 that does not count against the rate limit.
    if (method === 'GET' && result.status === 200) {
      const etag = this.etagOf(result, who.caller, req.headers.accept);
      headers.etag = etag;
      if (matchesEtag(req.headers['if-none-match'], etag)) {
        this.send(res, { status: 304, headers }, this.rateHeaders(who.caller, false));
        return;
      }
    }
    this.send(res, { ...result, headers }, this.rateHeaders(who.caller, true));
  }

  private async handleInternal(method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const matched = this.internal.match(method, url.pathname.slice('/_fake'.length));
    if (!matched) {
      this.send(res, { status: 404, raw: 'Not Found\n', contentType: 'text/plain; charset=utf-8' }, {});
      return;
    }
    const ctx: InternalContext = { state: this.state, body, query: url.searchParams, headers: req.headers };
    try {
      this.send(res, await matched.route.handler(ctx, matched.params), {});
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      this.send(res, { status: error.status, body: error.body, headers: error.headers }, {});
    }
  }

  private async route(
    method: string,
    apiPath: string,
    authorization: string | undefined,
    query: URLSearchParams,
    rawBody: Buffer,
    req: IncomingMessage,
    record: RecordedRequest,
    who: { caller?: Caller },
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
      caller = { login: this.state.app?.slug ?? 'fake-app', kind: 'app', credentialKey: credentialKey(credential) };
    } else {
      if (!credential) throw apiError(401, 'Requires authentication');
      caller = this.state.caller(credential);
      if (!caller) throw apiError(401, 'Bad credentials');
    }
    who.caller = caller;
    record.login = caller.login;
    const ctx: RestContext = { state: this.state, caller, body: parseJsonBody(rawBody), query, headers: req.headers };
    return matched.route.handler(ctx, matched.params);
  }

  private etagOf(result: RouteResult, caller: Caller | undefined, accept: string | undefined): string {
    const hash = createHash('sha256')
      .update(`${caller?.credentialKey ?? 'anonymous'}\0${accept ?? ''}\0`)
      .update(result.raw ?? JSON.stringify(result.body ?? null))
      .digest('hex');
    return `W/"${hash.slice(0, 40)}"`;
  }

  /** `x-ratelimit-*` for the caller's window; `count` = this request uses one call (a 304 does not). */
  private rateHeaders(caller: Caller | undefined, count: boolean): Record<string, string> {
    const key = caller ? `${caller.kind}:${caller.login.toLowerCase()}` : 'anonymous';
    const now = Math.floor(Date.now() / 1000);
    let window = this.rateWindows.get(key);
    if (!window || window.reset <= now) {
      window = { limit: caller ? 5000 : 60, used: 0, reset: now + HOUR_S };
      this.rateWindows.set(key, window);
    }
    if (count) window.used += 1;
    return {
      'x-ratelimit-limit': String(window.limit),
      'x-ratelimit-remaining': String(Math.max(window.limit - window.used, 0)),
      'x-ratelimit-used': String(window.used),
      'x-ratelimit-reset': String(window.reset),
      'x-ratelimit-resource': 'core',
    };
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
    const json = body ?? { message: STATUS_CODES[status] ?? 'Error', documentation_url: DOCS_URL };
    this.send(res, { status, body: json, headers }, this.rateHeaders(undefined, false));
    return true;
  }

  private send(res: ServerResponse, result: RouteResult, rate: Record<string, string>): void {
    const base: Record<string, string> = {
      'x-github-request-id': `FAKE:${Math.random().toString(16).slice(2, 10).toUpperCase()}`,
      'x-github-media-type': 'github.v3; format=json',
      ...rate,
    };
    const { status } = result;
    if (result.raw !== undefined) {
      const data = typeof result.raw === 'string' ? Buffer.from(result.raw) : result.raw;
      res.writeHead(status, {
        ...base,
        'content-type': result.contentType ?? 'application/octet-stream',
        'content-length': String(data.length),
        ...result.headers,
      });
      res.end(data);
      return;
    }
    if (status === 204 || status === 304 || result.body === undefined) {
      res.writeHead(status, { ...base, ...result.headers });
      res.end();
      return;
    }
    const text = JSON.stringify(result.body);
    res.writeHead(status, {
      ...base,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      ...result.headers,
    });
    res.end(text);
  }
}

/** `If-None-Match: W/"a", "b"` matches weak or strong spellings of our ETag, or `*`. */
function matchesEtag(header: string | string[] | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = bare(etag);
  return (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .some((tag) => tag.trim() === '*' || bare(tag) === wanted);
}

function authScheme(header: string): RecordedRequest['authScheme'] {
  const scheme = header.split(/\s+/)[0]?.toLowerCase();
  return scheme === 'token' || scheme === 'bearer' || scheme === 'basic' ? scheme : 'other';
}
