import type { IncomingMessage } from 'node:http';
import { DOCS_URL } from './types.js';

/** Thrown by handlers; rendered as a GitHub-style JSON error. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? status));
  }
}

export function apiError(status: number, message: string, extra: Record<string, unknown> = {}): HttpError {
  return new HttpError(status, { message, documentation_url: DOCS_URL, status: String(status), ...extra });
}

export const notFound = (message = 'Not Found') => apiError(404, message);

/** 422 the way GitHub words it: a top-level message, or `Validation Failed` plus `errors`. */
export function unprocessable(message: string, errors?: Record<string, unknown>[]): HttpError {
  return errors ? apiError(422, 'Validation Failed', { errors }) : apiError(422, message);
}

export interface RouteResult {
  status: number;
  /** JSON body (ignored when `raw` is set). */
  body?: unknown;
  /** A non-JSON body, sent as is with `contentType`. */
  raw?: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** `token`: any valid token; `jwt`: an App JWT; `none`: no authentication (the fake's own signed URLs). */
export type RouteAuth = 'token' | 'jwt' | 'none';

export interface Route<C> {
  method: string;
  segments: string[];
  auth: RouteAuth;
  handler: (ctx: C, params: Record<string, string>) => Promise<RouteResult> | RouteResult;
}

/**
 * Tiny router over raw (still percent-encoded) path segments: `:name` takes one decoded segment,
 * `*name` the decoded rest (so `heads%2Fa%2Fb` and `heads/a/b` both give `heads/a/b`).
 */
export class Router<C> {
  private readonly routes: Route<C>[] = [];

  add(method: string, pattern: string, handler: Route<C>['handler'], auth: RouteAuth = 'token'): void {
    this.routes.push({ method, segments: pattern.split('/').filter(Boolean), auth, handler });
  }

  match(method: string, rawPath: string): { route: Route<C>; params: Record<string, string> } | undefined {
    const parts = rawPath.split('/').filter(Boolean);
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const params = matchSegments(route.segments, parts);
      if (params) return { route, params };
    }
    return undefined;
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [i, segment] of pattern.entries()) {
    if (segment.startsWith('*')) {
      // `*name` takes one or more segments, leaving enough for the rest of the pattern.
      const tail = pattern.slice(i + 1);
      const rest = parts.slice(i, parts.length - tail.length);
      if (rest.length === 0) return undefined;
      const tailParams = matchSegments(tail, parts.slice(parts.length - tail.length));
      if (!tailParams) return undefined;
      params[segment.slice(1)] = safeDecode(rest.join('/'));
      return { ...params, ...tailParams };
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.startsWith(':')) params[segment.slice(1)] = safeDecode(part);
    else if (segment !== part) return undefined;
  }
  return parts.length === pattern.length ? params : undefined;
}

export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw apiError(400, 'Problems parsing JSON');
  }
}

/** Reads a JSON object body; everything else is a 400 like GitHub's. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw apiError(400, 'Problems parsing JSON');
  return body as Record<string, unknown>;
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidField(field, value, 'string');
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined) throw unprocessable('', [{ resource: 'Request', field, code: 'missing_field' }]);
  return value;
}

export function invalidField(field: string, value: unknown, expected: string): HttpError {
  return unprocessable(`Invalid request.\n\nFor '${field}', ${JSON.stringify(value)} is not a ${expected}.`);
}

/** GitHub-style pagination (`per_page` ≤ 100, default 30; `page` from 1) with a `Link` header. */
export function paginate<T>(
  query: URLSearchParams,
  items: T[],
  url: string,
): { items: T[]; headers: Record<string, string> } {
  const perPage = Math.min(Math.max(Number(query.get('per_page') ?? 30) || 30, 1), 100);
  const page = Math.max(Number(query.get('page') ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const link = (n: number, rel: string) => {
    const params = new URLSearchParams(query);
    params.set('per_page', String(perPage));
    params.set('page', String(n));
    return `<${url}?${params}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, 'prev'));
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'));
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length ? { link: links.join(', ') } : {},
  };
}

/** ISO 8601 without milliseconds, as GitHub writes timestamps. */
export const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
