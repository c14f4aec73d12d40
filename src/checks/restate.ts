import type { RunEngineConfig } from '../config/config.js';
import { errorMessage } from '../lib/errors.js';
import { CHECK_TIMEOUT_MS, type CheckResult, fail, ok, within } from './check.js';

/** RUN_ENGINE=restate: the Restate admin API and ingress answer healthy (none with the local engine). */
export async function checkRestate(engine: RunEngineConfig): Promise<CheckResult[]> {
  if (engine.kind !== 'restate') return [];
  const results: CheckResult[] = [];
  for (const [name, url, variable] of [
    ['Restate admin API', `${engine.adminUrl}/health`, 'RESTATE_ADMIN_URL'],
    ['Restate ingress', `${engine.ingressUrl}/restate/health`, 'RESTATE_INGRESS_URL'],
  ] as const) {
    try {
      const status = await within(CHECK_TIMEOUT_MS, url, async (signal) => {
        const response = await fetch(url, { signal });
        await response.arrayBuffer();
        return response.status;
      });
      results.push(
        status === 200
          ? ok(name, `${url} is healthy`)
          : fail(name, `${url} answered ${status}`, `check ${variable} and that restate-server runs`, variable),
      );
    } catch (error) {
      results.push(
        fail(
          name,
          `cannot reach ${url} (${errorMessage(error)})`,
          `check ${variable} and that restate-server runs`,
          variable,
        ),
      );
    }
  }
  return results;
}
