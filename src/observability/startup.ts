import { readFileSync } from 'node:fs';
import type { CoreConfig } from '../config/config.js';

/** The package's version (package.json at the root, two levels up from src/ and dist/ subfolders). */
export function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Where the store is, without a password (`redis://host:port`, `sqlite data/ai-dev.sqlite`). */
export function describeStore(storeUrl: string): string {
  if (storeUrl.startsWith('sqlite://')) return `sqlite ${storeUrl.slice('sqlite://'.length)}`;
  try {
    const url = new URL(storeUrl);
    const namespace = url.searchParams.get('namespace');
    return `${url.protocol}//${url.host}${namespace ? ` (namespace ${namespace})` : ''}`;
  } catch {
    return storeUrl.split(':')[0] ?? 'unknown';
  }
}

export interface StartupFacts {
  version: string;
  mode: string;
  model: string;
  sandbox: string;
  /** The sandboxes' network policy, when the configuration has one. */
  network?: string;
  store: string;
  engine: string;
  port?: number;
}

/**
 * What the one start-up line says: mode, model, sandbox provider (and network policy), store and run
 * engine, as fields (JSON logs) and as a sentence (the message).
 */
export function startupFacts(
  config: CoreConfig,
  front: { mode: string; engine: string; port?: number; network?: string },
): { facts: StartupFacts; message: string } {
  const sandbox =
    config.sandbox.provider === 'e2b' ? `e2b (template ${config.sandbox.template})` : 'local (development only)';
  const facts: StartupFacts = {
    version: packageVersion(),
    mode: front.mode,
    model: `${config.openai.model} (reasoning ${config.openai.reasoningEffort})`,
    sandbox,
    ...(front.network ? { network: front.network } : {}),
    store: describeStore(config.storeUrl),
    engine: front.engine,
    ...(front.port !== undefined ? { port: front.port } : {}),
  };
  const parts = [
    facts.mode,
    `model ${facts.model}`,
    `sandbox ${facts.sandbox}`,
    ...(facts.network ? [`network ${facts.network}`] : []),
    `store ${facts.store}`,
    `engine ${facts.engine}`,
    ...(facts.port !== undefined ? [`port ${facts.port}`] : []),
  ];
  return { facts, message: `ai-dev is running (${facts.version}): ${parts.join(' · ')}` };
}
