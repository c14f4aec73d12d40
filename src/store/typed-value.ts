import type { z } from 'zod';
import type { Logger } from '../lib/logger.js';

/**
 * Validates one value read from the store. A value that does not match is reported and
 * treated as absent: a corrupt record must never crash a request.
 */
export function readValid<T>(schema: z.ZodType<T>, raw: unknown, key: string, logger: Logger): T | undefined {
  if (raw === undefined || raw === null) return undefined;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  logger.error(
    { key, issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
    'corrupt value in store; skipped',
  );
  return undefined;
}

/** Validates each element of a stored list on its own, so one bad entry does not hide the rest. */
export function readValidList<T>(schema: z.ZodType<T>, raw: unknown, key: string, logger: Logger): T[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    logger.error({ key }, 'corrupt list in store (not an array); skipped');
    return [];
  }
  const out: T[] = [];
  raw.forEach((item, index) => {
    const value = readValid(schema, item, `${key}[${index}]`, logger);
    if (value !== undefined) out.push(value);
  });
  return out;
}
