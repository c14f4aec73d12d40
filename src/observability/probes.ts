import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from './metrics.js';

/** One thing readiness depends on; `check` answers undefined when fine, or why not. */
export interface ReadinessProbe {
  name: string;
  check(): Promise<string | undefined> | string | undefined;
}

export interface ReadinessReport {
  ready: boolean;
  /** `ok`, or why not, per probe. */
  checks: Record<string, string>;
}

const PROBE_TIMEOUT_MS = 2_000;

/** Asks every probe at once, each within two seconds (a probe that hangs counts as not ready). */
export async function readiness(probes: ReadinessProbe[], timeoutMs = PROBE_TIMEOUT_MS): Promise<ReadinessReport> {
  const results = await Promise.all(
    probes.map(async (probe): Promise<[string, string]> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
        timer.unref();
      });
      try {
        const why = await Promise.race([Promise.resolve().then(() => probe.check()), timeout]);
        return [probe.name, why ?? 'ok'];
      } catch (error) {
        return [probe.name, error instanceof Error ? error.message : String(error)];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: results.every(([, why]) => why === 'ok'), checks: Object.fromEntries(results) };
}

export interface ObservabilityRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * `GET /healthz`: the process is alive (always 200). `GET /readyz`: 200 when every probe is fine,
 * 503 otherwise, with each probe's answer. `GET /metrics`: Prometheus text format.
 */
export function observabilityRoutes(options: { probes: ReadinessProbe[]; metrics: Metrics }): ObservabilityRoute[] {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  return [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => json(res, 200, { ok: true }),
    },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        readiness(options.probes).then(
          (report) => json(res, report.ready ? 200 : 503, report),
          (error: unknown) => json(res, 503, { ready: false, error: String(error) }),
        );
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        options.metrics.text().then(
          (text) => {
            res.writeHead(200, { 'content-type': options.metrics.contentType });
            res.end(text);
          },
          (error: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(`could not collect metrics: ${String(error)}`);
          },
        );
      },
    },
  ];
}
