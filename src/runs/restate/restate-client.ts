import { z } from 'zod';
import { AppError, errorMessage } from '../../lib/errors.js';

/** Restate could not be reached or refused a call: the operator's setup, or a passing outage. */
export class RestateError extends AppError<'restate_unavailable'> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('restate_unavailable', message, {
      kind: 'transient',
      cause: options.cause,
      userMessage: 'The bot’s run engine (Restate) is not answering right now; try again in a minute.',
    });
  }
}

const deploymentSchema = z.object({ id: z.string() });
const sendSchema = z.object({ invocationId: z.string().optional() }).loose();
const querySchema = z.object({ rows: z.array(z.object({ invocation_id: z.string() }).loose()) });

/** The few calls the bot makes to a Restate server: register, send, find the run holding a key, cancel. */
export class RestateClient {
  constructor(
    private readonly urls: { ingressUrl: string; adminUrl: string },
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  /**
   * Registers (or refreshes) the deployment Restate calls at `serviceUrl`; idempotent. `force` re-discovers
   * the handlers, so an upgraded bot's services replace the old ones under the same URL.
   */
  async register(serviceUrl: string): Promise<string> {
    const body = await this.call('admin', `${this.urls.adminUrl}/deployments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: serviceUrl, force: true }),
    });
    return deploymentSchema.parse(body).id;
  }

  /** Answers when the admin API and the ingress both say they are healthy; throws naming the URL otherwise. */
  async health(): Promise<void> {
    for (const [which, url] of [
      ['admin', `${this.urls.adminUrl}/health`],
      ['ingress', `${this.urls.ingressUrl}/restate/health`],
    ] as const) {
      const response = await this.request(which, url, { method: 'GET' });
      await response.arrayBuffer();
      if (!response.ok) throw new RestateError(`Restate at ${url} is not healthy (${response.status})`);
    }
  }

  /** Fire-and-forget call of a handler; the same idempotency key twice makes one invocation. */
  async send(service: string, key: string, handler: string, input: unknown, idempotencyKey: string): Promise<string> {
    const url = `${this.urls.ingressUrl}/${service}/${encodeURIComponent(key)}/${handler}/send`;
    const body = await this.call('ingress', url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(input),
    });
    return sendSchema.parse(body).invocationId ?? '';
  }

  /** The invocation that holds a virtual object key right now (its exclusive handler is running), if any. */
  async holder(service: string, key: string): Promise<string | undefined> {
    const body = await this.call('admin', `${this.urls.adminUrl}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        query: `SELECT invocation_id FROM sys_keyed_service_status WHERE service_name = ${sql(service)} AND service_key = ${sql(key)}`,
      }),
    });
    return querySchema.parse(body).rows[0]?.invocation_id;
  }

  /** Cancels an invocation; true when Restate took the cancellation (false: unknown or already over). */
  async cancel(invocationId: string): Promise<boolean> {
    const url = `${this.urls.adminUrl}/invocations/${encodeURIComponent(invocationId)}/cancel`;
    const response = await this.request('admin', url, { method: 'PATCH' });
    await response.arrayBuffer();
    if (response.status === 404 || response.status === 409) return false;
    if (!response.ok) throw new RestateError(`PATCH ${url}: ${response.status}`);
    return true;
  }

  private async call(which: 'admin' | 'ingress', url: string, init: RequestInit): Promise<unknown> {
    const response = await this.request(which, url, init);
    const text = await response.text();
    if (!response.ok) throw new RestateError(`${init.method} ${url}: ${response.status} ${text.slice(0, 500)}`);
    return text === '' ? {} : JSON.parse(text);
  }

  private async request(which: 'admin' | 'ingress', url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchFn(url, { ...init, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      const base = which === 'admin' ? this.urls.adminUrl : this.urls.ingressUrl;
      throw new RestateError(
        `cannot reach Restate’s ${which === 'admin' ? 'admin API' : 'ingress'} at ${base} (${errorMessage(error)}); check RESTATE_${which === 'admin' ? 'ADMIN' : 'INGRESS'}_URL and that restate-server runs`,
        { cause: error },
      );
    }
  }
}

function sql(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
