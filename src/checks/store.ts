import type { Logger } from '../lib/logger.js';
import { describeStore } from '../observability/startup.js';
import type { KeyValueStore } from '../store/key-value-store.js';
import { LinkStore } from '../store/link-store.js';
import { openStore } from '../store/open-store.js';
import { type CheckResult, fail, ok } from './check.js';

export interface StoreCheck {
  result: CheckResult;
  /** Every linked repo (lower-cased, once each) with the channels that link it. */
  repos: Map<string, string[]>;
}

/** The store opens and answers; lists what is linked (for the push checks). */
export async function checkStore(storeUrl: string, logger: Logger): Promise<StoreCheck> {
  const name = 'Store';
  const where = describeStore(storeUrl);
  let store: KeyValueStore;
  try {
    store = await openStore(storeUrl, logger);
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    const why = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
    return {
      result: fail(
        name,
        `could not open ${where} (${why})`,
        'check STORE_URL: sqlite://<writable path>, or redis://host:port with Redis running',
        'STORE_URL',
      ),
      repos: new Map(),
    };
  }
  try {
    const repos = new Map<string, string[]>();
    for (const { channel, links } of await new LinkStore(store, logger).all()) {
      for (const link of links) {
        const key = link.repo;
        repos.set(key, [...(repos.get(key) ?? []), channel]);
      }
    }
    const channels = new Set([...repos.values()].flat()).size;
    return {
      result: ok(
        name,
        `${where}: ${repos.size} linked repo${repos.size === 1 ? '' : 's'} in ${channels} channel${channels === 1 ? '' : 's'}`,
      ),
      repos,
    };
  } catch (error) {
    return {
      result: fail(
        name,
        `${where} does not answer (${error instanceof Error ? error.message : String(error)})`,
        'check STORE_URL',
        'STORE_URL',
      ),
      repos: new Map(),
    };
  } finally {
    await store.close().catch(() => {});
  }
}
