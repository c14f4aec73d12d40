/**
 * The E2B control plane (base URL = `apiUrl`): `X-API-KEY` auth, JSON bodies, error body `{code, message}`
 * (the SDK tests `body.code === 404`). Statuses and messages of refusals follow E2B's API server; see
 * api-error.ts for the source.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, maxTimeoutMessage, notFoundMessage } from './api-error.js';
import { queryOf, readBody, sendEmpty, sendJson } from './http.js';
import { applyEgressUpdate, networkForInfo, parseCreateNetwork, parseNetworkUpdate } from './network.js';
import type { SandboxRegistry } from './registry.js';
import type { FakeSandbox } from './sandbox.js';

export type ControlPlaneOp =
  | 'create'
  | 'connect'
  | 'list'
  | 'getInfo'
  | 'kill'
  | 'timeout'
  | 'pause'
  | 'network'
  | 'metrics'
  | 'template'
  | 'unknown';

/** One control-plane call as the fake saw it (the API key value is never stored). */
export interface ControlPlaneRequest {
  op: ControlPlaneOp;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body (`undefined` when there was none). */
  body: unknown;
  sandboxId?: string;
  /** Whether a key was sent and whether it was the right one. */
  apiKeyPresent: boolean;
  authenticated: boolean;
  status: number;
  at: Date;
}

/** Make the next `times` calls of `op` fail with `status` (after auth). */
export interface FailRule {
  op: ControlPlaneOp;
  status: number;
  /** Default 1. */
  times?: number;
  message?: string;
  /** Adds `Retry-After: <n>` (the SDK retries 429s that carry it). */
  retryAfterSeconds?: number;
}

const CLIENT_ID = 'e2b-fake-client';

interface Route {
  op: ControlPlaneOp;
  sandboxId?: string;
}

function route(method: string, path: string): Route {
  const alias = /^\/templates\/aliases\/([^/]+)$/.exec(path);
  if (alias?.[1] && method === 'GET') return { op: 'template', sandboxId: decodeURIComponent(alias[1]) };
  if (path === '/v2/sandboxes' || path === '/sandboxes') {
    if (method === 'POST' && path === '/v2/sandboxes') return { op: 'create' };
    if (method === 'GET') return { op: 'list' };
    return { op: 'unknown' };
  }
  let m = /^\/v2\/sandboxes\/([^/]+)\/connect$/.exec(path);
  if (m?.[1] && method === 'POST') return { op: 'connect', sandboxId: decodeURIComponent(m[1]) };
  m = /^\/sandboxes\/([^/]+)\/resume$/.exec(path);
  if (m?.[1] && method === 'POST') return { op: 'connect', sandboxId: decodeURIComponent(m[1]) };
  m = /^\/sandboxes\/([^/]+)\/(timeout|pause|network|metrics)$/.exec(path);
  if (m?.[1] && m[2]) {
    const sandboxId = decodeURIComponent(m[1]);
    if (m[2] === 'timeout' && method === 'POST') return { op: 'timeout', sandboxId };
    if (m[2] === 'pause' && method === 'POST') return { op: 'pause', sandboxId };
    if (m[2] === 'network' && method === 'PUT') return { op: 'network', sandboxId };
    if (m[2] === 'metrics' && method === 'GET') return { op: 'metrics', sandboxId };
    return { op: 'unknown', sandboxId };
  }
  m = /^\/sandboxes\/([^/]+)$/.exec(path);
  if (m?.[1]) {
    const sandboxId = decodeURIComponent(m[1]);
    if (method === 'GET') return { op: 'getInfo', sandboxId };
    if (method === 'DELETE') return { op: 'kill', sandboxId };
  }
  return { op: 'unknown' };
}

function notFound(id: string): ApiError {
  return new ApiError(404, notFoundMessage(id));
}

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ApiError(400, `Error when parsing request: ${field} must be a boolean`);
  return value;
}

function asStringRecord(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ApiError(400, `${field} must be an object`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new ApiError(400, `${field}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

export class ControlPlane {
  readonly requests: ControlPlaneRequest[] = [];
  private readonly failRules: Array<Required<Pick<FailRule, 'op' | 'status' | 'times'>> & FailRule> = [];

  constructor(
    private readonly registry: SandboxRegistry,
    private readonly apiKey: string,
    /** Template names `GET /templates/aliases/{name}` knows (`Template.exists`); create takes any. */
    private readonly templates: readonly string[] = ['base'],
  ) {}

  failNext(rule: FailRule): void {
    this.failRules.push({ ...rule, times: rule.times ?? 1 });
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err: unknown) => {
      sendJson(res, 500, { code: 500, message: `fake control plane error: ${String(err)}` });
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const { op, sandboxId } = route(method, url.pathname);
    const raw = await readBody(req);
    let body: unknown;
    let badJson = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        badJson = true;
      }
    }
    const key = req.headers['x-api-key'];
    const record: ControlPlaneRequest = {
      op,
      method,
      path: url.pathname,
      query: queryOf(url),
      body,
      ...(sandboxId ? { sandboxId } : {}),
      apiKeyPresent: typeof key === 'string' && key.length > 0,
      authenticated: key === this.apiKey,
      status: 0,
      at: new Date(),
    };
    this.requests.push(record);
    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      if (payload === undefined) sendEmpty(res, status);
      else sendJson(res, status, payload, headers);
    };

    if (!record.authenticated) {
      reply(401, { code: 401, message: 'Invalid API key, please visit https://e2b.dev/docs to get your API key' });
      return;
    }
    const rule = this.failRules.find((r) => r.op === op && r.times > 0);
    if (rule) {
      rule.times -= 1;
      if (rule.times <= 0) this.failRules.splice(this.failRules.indexOf(rule), 1);
      const headers: Record<string, string> =
        rule.retryAfterSeconds !== undefined ? { 'retry-after': String(rule.retryAfterSeconds) } : {};
      reply(rule.status, { code: rule.status, message: rule.message ?? `injected failure for ${op}` }, headers);
      return;
    }
    if (badJson) {
      reply(400, { code: 400, message: 'request body is not valid JSON' });
      return;
    }

    this.registry.sweep();
    try {
      const result = this.run(op, sandboxId, body, url);
      reply(result.status, result.body, result.headers);
    } catch (err) {
      if (err instanceof ApiError) reply(err.status, { code: err.status, message: err.message });
      else throw err;
    }
  }

  private run(
    op: ControlPlaneOp,
    sandboxId: string | undefined,
    body: unknown,
    url: URL,
  ): { status: number; body?: unknown; headers?: Record<string, string> } {
    const obj = (body ?? {}) as Record<string, unknown>;
    const known = (id: string | undefined): FakeSandbox => {
      const sandbox = id ? this.registry.get(id) : undefined;
      if (!sandbox || sandbox.state === 'killed') throw notFound(id ?? '');
      return sandbox;
    };
    /** What the API's running-sandbox store holds: a paused sandbox is only a snapshot there (404). */
    const running = (id: string | undefined): FakeSandbox => {
      const sandbox = known(id);
      if (sandbox.state !== 'running') throw notFound(id ?? '');
      return sandbox;
    };
    switch (op) {
      case 'create':
        return { status: 201, body: this.connectBody(this.create(obj)) };
      case 'connect': {
        const requested = this.timeoutOf(obj.timeout, 'connect');
        const sandbox = known(sandboxId);
        const memory = optionalBoolean(obj.memory, 'memory');
        if (sandbox.state === 'paused') {
          this.registry.resume(sandbox, requested ?? this.registry.options.defaultTimeoutMs, {
            auto: false,
            memory: memory !== false,
          });
          sandbox.connectCount += 1;
          return { status: 201, body: this.connectBody(sandbox) };
        }
        sandbox.connectCount += 1;
        if (requested !== undefined) this.registry.keepAlive(sandbox, requested, false);
        return { status: 200, body: this.connectBody(sandbox) };
      }
      case 'list':
        return this.list(url);
      case 'getInfo':
        return { status: 200, body: this.detail(known(sandboxId), true) };
      case 'kill':
        known(sandboxId).terminate('killed');
        return { status: 204 };
      case 'timeout': {
        const sandbox = running(sandboxId);
        if (typeof obj.timeout !== 'number' || !Number.isInteger(obj.timeout)) {
          throw new ApiError(400, 'Error when parsing request: timeout must be an integer (seconds)');
        }
        // the API takes any length here and clamps it to the cap counted from the (re)start
        this.registry.keepAlive(sandbox, Math.max(0, obj.timeout) * 1000, true);
        return { status: 204 };
      }
      case 'pause': {
        const sandbox = known(sandboxId);
        if (sandbox.state === 'paused') {
          throw new ApiError(409, `Error pausing sandbox - sandbox '${sandbox.sandboxId}' is already paused`);
        }
        const memory = optionalBoolean(obj.memory, 'memory');
        sandbox.pause({ auto: false, memory: memory !== false });
        return { status: 204 };
      }
      case 'network': {
        const sandbox = running(sandboxId);
        const update = parseNetworkUpdate(body);
        sandbox.network = applyEgressUpdate(sandbox.network, update.egress);
        if (update.allowInternetAccess !== undefined) sandbox.allowInternetAccess = update.allowInternetAccess;
        sandbox.networkHistory.push({
          source: 'update',
          at: new Date(),
          allowInternetAccess: update.allowInternetAccess,
          network: structuredClone(update.egress),
        });
        return { status: 204 };
      }
      case 'metrics':
        known(sandboxId);
        return { status: 200, body: [] };
      case 'template': {
        // `sandboxId` carries the alias here. (unverified) E2B's wording of the 404.
        const name = sandboxId ?? '';
        if (!this.templates.includes(name)) throw new ApiError(404, `template alias '${name}' not found`);
        return { status: 200, body: { templateID: `tpl-${name}`, public: true } };
      }
      default:
        throw new ApiError(404, 'not found (route not implemented by the e2b fake)');
    }
  }

  private create(obj: Record<string, unknown>): FakeSandbox {
    const templateId = obj.templateID;
    if (typeof templateId !== 'string' || templateId === '') throw new ApiError(400, 'templateID is required');
    const timeoutMs = this.timeoutOf(obj.timeout, 'create');
    const autoPause = optionalBoolean(obj.autoPause, 'autoPause') ?? false;
    const autoPauseMemory = optionalBoolean(obj.autoPauseMemory, 'autoPauseMemory') ?? true;
    let autoResume = false;
    if (obj.autoResume !== undefined && obj.autoResume !== null) {
      const enabled = (obj.autoResume as { enabled?: unknown }).enabled;
      if (typeof obj.autoResume !== 'object' || typeof enabled !== 'boolean') {
        throw new ApiError(400, 'Error when parsing request: autoResume must be {enabled: boolean}');
      }
      autoResume = enabled;
    }
    if (!autoPauseMemory && !autoPause) {
      throw new ApiError(400, 'autoPauseMemory=false only applies when autoPause is true.');
    }
    if (!autoPauseMemory && autoResume) {
      throw new ApiError(
        400,
        'autoPauseMemory=false (filesystem-only auto-pause) cannot be combined with autoResume: a filesystem-only snapshot cannot be auto-resumed by traffic and must be resumed explicitly.',
      );
    }
    const allowInternetAccess = optionalBoolean(obj.allow_internet_access, 'allow_internet_access');
    const network = parseCreateNetwork(obj.network);
    const sandbox = this.registry.create({
      templateId,
      metadata: asStringRecord(obj.metadata, 'metadata'),
      envVars: asStringRecord(obj.envVars, 'envVars'),
      timeoutMs,
      autoPause,
      autoPauseMemory,
      autoResume,
      allowInternetAccess,
      network,
    });
    sandbox.networkHistory.push({
      source: 'create',
      at: sandbox.createdAt,
      allowInternetAccess,
      network: network === undefined ? undefined : structuredClone(network),
    });
    return sandbox;
  }

  /**
   * `timeout` in seconds → ms. create (infra `validateAndParseTimeout`): must be > 0 and ≤ the cap; connect:
   * ≤ the cap (0 / absent = no change on a running sandbox, the default lifetime on a paused one).
   */
  private timeoutOf(value: unknown, op: 'create' | 'connect'): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new ApiError(400, 'Error when parsing request: timeout must be an integer (seconds)');
    }
    if (op === 'create' && value <= 0) throw new ApiError(400, 'Timeout must be greater than 0');
    const ms = value * 1000;
    if (ms > this.registry.options.maxTimeoutMs) {
      throw new ApiError(400, maxTimeoutMessage(this.registry.options.maxTimeoutMs));
    }
    return op === 'connect' && ms <= 0 ? undefined : ms;
  }

  private connectBody(sandbox: FakeSandbox) {
    return {
      sandboxID: sandbox.sandboxId,
      templateID: sandbox.templateId,
      clientID: CLIENT_ID,
      envdVersion: this.registry.options.envdVersion,
      envdAccessToken: sandbox.envdAccessToken,
      trafficAccessToken: null,
      domain: null,
    };
  }

  private detail(sandbox: FakeSandbox, full: boolean) {
    return {
      sandboxID: sandbox.sandboxId,
      templateID: sandbox.templateId,
      clientID: CLIENT_ID,
      startedAt: sandbox.startedAt.toISOString(),
      endAt: sandbox.endAt.toISOString(),
      state: sandbox.state,
      cpuCount: 2,
      memoryMB: 512,
      diskSizeMB: 10240,
      envdVersion: this.registry.options.envdVersion,
      metadata: { ...sandbox.metadata },
      volumeMounts: [],
      ...(full
        ? {
            envdAccessToken: sandbox.envdAccessToken,
            domain: null,
            lifecycle: { onTimeout: sandbox.autoPause ? 'pause' : 'kill', autoResume: sandbox.autoResume },
            ...(sandbox.allowInternetAccess !== undefined ? { allowInternetAccess: sandbox.allowInternetAccess } : {}),
            ...(sandbox.network ? { network: networkForInfo(sandbox.network) } : {}),
          }
        : {}),
    };
  }

  private list(url: URL) {
    const metadataFilter: Record<string, string> = {};
    const rawMetadata = url.searchParams.get('metadata');
    if (rawMetadata) {
      for (const [k, v] of new URLSearchParams(rawMetadata)) metadataFilter[safeDecode(k)] = safeDecode(v);
    }
    const stateParam = url.searchParams.getAll('state').flatMap((s) => s.split(','));
    const states = new Set(stateParam.length > 0 ? stateParam : ['running', 'paused']);
    const template = url.searchParams.get('template');
    const limit = Math.max(1, Math.min(1000, Number(url.searchParams.get('limit') ?? 100) || 100));
    const offset = Number(url.searchParams.get('nextToken') ?? 0) || 0;
    const matches = [...this.registry.sandboxes.values()]
      .filter((s) => s.state !== 'killed' && states.has(s.state))
      .filter((s) => !template || s.templateId === template)
      .filter((s) => Object.entries(metadataFilter).every(([k, v]) => s.metadata[k] === v))
      .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
    const page = matches.slice(offset, offset + limit);
    const headers: Record<string, string> = { 'x-total-running': String(this.registry.runningCount()) };
    if (offset + limit < matches.length) headers['x-next-token'] = String(offset + limit);
    return { status: 200, body: page.map((s) => this.detail(s, false)), headers };
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
