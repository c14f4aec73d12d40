/**
 * The fake envd (base URL = `sandboxUrl`), one server for all sandboxes, routed by `E2b-Sandbox-Id` like
 * E2B's sandbox proxy.
 *
 * - unknown / killed / expired sandbox → 502 `{sandboxId, message: 'The sandbox was not found', code: 502}`
 *   (the proxy's answer; the SDK maps it to `TimeoutError`, or `SandboxNotFoundError` when starting a
 *   command).
 * - paused sandbox: created with `autoResume` and called with its valid access token → resumed first (like
 *   E2B's proxy; 429 `{sandboxId, message, code: 429}` at the concurrency limit); otherwise 409
 *   `{…, message: 'The sandbox is paused'}` (default) or, with `pausedEnvd: 'not-found'`, the 502 above —
 *   what E2B's client-proxy answers for a paused sandbox it may not resume (infra source, see api-error.ts).
 * - `GET /health` → 204 (no token needed).
 * - everything else needs `X-Access-Token` = the sandbox's `envdAccessToken` (401 otherwise).
 * - `/files` → files.ts; the rest → Connect RPC (`process.Process`, `filesystem.Filesystem`) served by
 *   `@connectrpc/connect-node` from the SDK's own descriptors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Code, ConnectError, createContextValues } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { ApiError } from './api-error.js';
import { loadEnvdDescriptors } from './descriptors.js';
import { handleFiles } from './files.js';
import { registerFilesystemService } from './filesystem-service.js';
import { sendEmpty, sendJson } from './http.js';
import type { Recorder } from './observe.js';
import { registerProcessService } from './process-service.js';
import type { SandboxRegistry } from './registry.js';
import { type EnvdContext, sandboxKey } from './rpc.js';
import type { FakeSandbox } from './sandbox.js';

/** One envd call as the fake saw it (the access token value is never stored). */
export interface EnvdRequest {
  sandboxId: string | undefined;
  method: string;
  /** `/files`, `/health` or `/<pkg>.<Service>/<Method>`. */
  path: string;
  query: Record<string, string>;
  /** `Connect-Timeout-Ms` (the SDK's command `timeoutMs`), when sent. */
  connectTimeoutMs?: number;
  /** User from `Authorization: Basic <user>:` (the SDK's `user` option), when sent. */
  user?: string;
  tokenValid: boolean;
  status: number;
  at: Date;
}

function userOf(authorization: string | undefined): string | undefined {
  const m = /^Basic\s+(.+)$/i.exec(authorization ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  return decoded.split(':')[0];
}

export class Envd {
  readonly requests: EnvdRequest[] = [];
  private readonly routed = new WeakMap<object, FakeSandbox>();
  private readonly rpc: (req: IncomingMessage, res: ServerResponse) => void;

  constructor(
    private readonly registry: SandboxRegistry,
    private readonly recorder: Recorder,
    private readonly options: { childPath: string; pausedEnvd: 'conflict' | 'not-found' },
  ) {
    const descriptors = loadEnvdDescriptors();
    const context: EnvdContext = {
      childPath: options.childPath,
      recorder,
      sandboxOf: (ctx) => {
        const sandbox = ctx.values.get(sandboxKey);
        if (!sandbox) throw new ConnectError('e2b fake: request was not routed to a sandbox', Code.Internal);
        return sandbox;
      },
    };
    this.rpc = connectNodeAdapter({
      grpc: false,
      grpcWeb: false,
      routes: (router) => {
        registerProcessService(router, descriptors.process, context);
        registerFilesystemService(router, descriptors.filesystem, context);
      },
      contextValues: (req) => createContextValues().set(sandboxKey, this.routed.get(req)),
    });
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const sandboxId = header('e2b-sandbox-id');
    const timeout = header('connect-timeout-ms');
    const user = userOf(header('authorization'));
    this.registry.sweep();
    const sandbox = sandboxId ? this.registry.get(sandboxId) : undefined;
    const record: EnvdRequest = {
      sandboxId,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(timeout !== undefined && timeout !== '' ? { connectTimeoutMs: Number(timeout) } : {}),
      ...(user !== undefined ? { user } : {}),
      tokenValid: sandbox !== undefined && header('x-access-token') === sandbox.envdAccessToken,
      status: 0,
      at: new Date(),
    };
    this.requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    res.on('close', () => {
      if (record.status === 0) record.status = res.headersSent ? res.statusCode : -1;
    });

    if (!sandboxId) {
      sendJson(res, 400, { code: 400, message: 'missing E2b-Sandbox-Id header' });
      return;
    }
    if (!sandbox || sandbox.state === 'killed') {
      sendJson(res, 502, { sandboxId, message: 'The sandbox was not found', code: 502 });
      return;
    }
    if (sandbox.state === 'paused' && sandbox.autoResume && record.tokenValid) {
      try {
        this.registry.resume(sandbox, this.registry.autoResumeTimeoutMs(sandbox), { auto: true, memory: true });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        sendJson(res, err.status, { sandboxId, message: err.message, code: err.status });
        return;
      }
    }
    if (sandbox.state === 'paused') {
      if (this.options.pausedEnvd === 'not-found') {
        sendJson(res, 502, { sandboxId, message: 'The sandbox was not found', code: 502 });
      } else {
        sendJson(res, 409, { sandboxId, message: 'The sandbox is paused', code: 409, canAutoResume: false });
      }
      return;
    }
    if (url.pathname === '/health') {
      sendEmpty(res, 204);
      return;
    }
    if (!record.tokenValid) {
      sendJson(res, 401, { code: 401, message: 'unauthorized access, please retry with valid access token' });
      return;
    }
    sandbox.openResponses.add(res);
    res.on('close', () => sandbox.openResponses.delete(res));
    if (url.pathname === '/files') {
      void handleFiles(sandbox, req, res, url, this.recorder);
      return;
    }
    this.routed.set(req, sandbox);
    this.rpc(req, res);
  };
}
