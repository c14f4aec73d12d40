import { existsSync } from 'node:fs';

/**
 * The only place that touches process.env: reads `.env` when present (without overriding
 * variables already set) and returns a copy of the environment.
 */
export function readEnvironment(envFile = '.env'): Record<string, string | undefined> {
  // Start-up only, before any request path exists: a synchronous check is fine here.
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return { ...process.env };
}
