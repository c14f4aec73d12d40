/**
 * `POST /v1/responses/compact` of the fake (openai 7: `client.responses.compact(params)` → `CompactedResponse`).
 *
 * The answer holds the user messages of the input, in order, followed by one `compaction` item whose
 * `encrypted_content` is opaque. The fake remembers what it issued: a `compaction` item it did not issue is refused
 * wherever it is sent, as the API cannot decrypt a forged or edited one (wording unverified). Compaction does not
 * touch a stored conversation (platform notes §6): seed a new one with `POST /conversations {items}`.
 */
import type { CompactedResponse } from 'openai/resources/responses/responses';
import type { Parsed } from './protocol.js';
import type { ErrorSpec, StoredItem } from './steps.js';
import { COMPACTION_ITEM_TOKENS, itemSegment, sumTokens, textTokens } from './tokens.js';
import type { IdGenerator } from './wire.js';

/** Top-level fields of `ResponseCompactParams` (openai 7.59). `conversation` is not one of them. */
const COMPACT_PARAMS = [
  'model',
  'input',
  'instructions',
  'previous_response_id',
  'prompt_cache_key',
  'prompt_cache_options',
  'prompt_cache_retention',
  'service_tier',
  'image',
];

/** One `POST /v1/responses/compact` as the fake received it. */
export interface RecordedCompaction {
  body: Record<string, unknown>;
  /** The validated input items. */
  inputItems: StoredItem[];
  status: number;
  /** The answer (200 only). */
  response?: CompactedResponse;
  error?: ErrorSpec;
}

export class CompactionIssuer {
  readonly #issued = new Map<string, { items: number; tokens: number }>();
  readonly #ids: IdGenerator;

  constructor(ids: IdGenerator) {
    this.#ids = ids;
  }

  /** A compaction item standing in for `items`. */
  issue(items: readonly StoredItem[]): StoredItem {
    const id = this.#ids.next('cmp');
    const tokens = sumTokens(items.map(itemSegment));
    const payload = Buffer.from(JSON.stringify({ fake: 'compaction', id, items: items.length, tokens })).toString(
      'base64url',
    );
    const encrypted = `gAAAAB${payload}`;
    this.#issued.set(encrypted, { items: items.length, tokens });
    return { id, type: 'compaction', encrypted_content: encrypted };
  }

  /** 400 for the first compaction item among `items` the fake never issued. */
  verify(items: readonly StoredItem[], param: string): ErrorSpec | null {
    for (const [index, item] of items.entries()) {
      if (item.type !== 'compaction' || this.#issued.has(String(item.encrypted_content))) continue;
      const at = `${param}[${index}].encrypted_content`;
      return {
        message: `Invalid '${at}': the encrypted content could not be decrypted or verified.`,
        param: at,
        code: 'invalid_encrypted_content',
      };
    }
    return null;
  }

  clear(): void {
    this.#issued.clear();
  }
}

export type CompactOutcome =
  | { ok: true; response: CompactedResponse }
  | { ok: false; status: number; error: ErrorSpec };

/** Answers one compact request (validation included); `pairing` is the function-call check of the server. */
export function compact(
  body: Record<string, unknown>,
  parsed: Parsed,
  issuer: CompactionIssuer,
  ids: IdGenerator,
  pairing: (items: StoredItem[]) => ErrorSpec | null,
): CompactOutcome {
  for (const key of Object.keys(body)) {
    if (!COMPACT_PARAMS.includes(key)) {
      const error = { message: `Unknown parameter: '${key}'.`, param: key, code: 'unknown_parameter' };
      return { ok: false, status: 400, error };
    }
  }
  if (body.model === undefined || body.model === null || body.model === '') {
    const error = {
      message: "Missing required parameter: 'model'.",
      param: 'model',
      code: 'missing_required_parameter',
    };
    return { ok: false, status: 400, error };
  }
  if (!parsed.ok) return { ok: false, status: 400, error: parsed.error };
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    // Not modelled: the fake does not keep the input of stored responses.
    const error = {
      message: 'openai fake: compact with previous_response_id is not modelled',
      param: 'previous_response_id',
    };
    return { ok: false, status: 400, error };
  }
  const items = parsed.items;
  if (items.length === 0) {
    const error = {
      message: "Missing required parameter: 'input'.",
      param: 'input',
      code: 'missing_required_parameter',
    };
    return { ok: false, status: 400, error }; // (unverified)
  }
  const forged = issuer.verify(items, 'input');
  if (forged) return { ok: false, status: 400, error: forged };
  // A pending function call cannot be compacted away (unverified; conservative): its output would then answer a
  // call the model no longer sees.
  const unpaired = pairing(items);
  if (unpaired) return { ok: false, status: 400, error: unpaired };

  const userMessages = items
    .filter((item) => item.type === 'message' && item.role === 'user')
    .map((item) => ({ ...structuredClone(item), id: ids.next('msg'), status: 'completed' }));
  const compaction = issuer.issue(items);
  const instructions = typeof body.instructions === 'string' ? textTokens(body.instructions) : 0;
  const input = instructions + sumTokens(items.map(itemSegment));
  const response = {
    id: ids.next('resp'),
    object: 'response.compaction',
    created_at: Math.floor(Date.now() / 1000),
    // User messages are not `ResponseOutputItem`s in the SDK types, but the API returns them (docs).
    output: [...userMessages, compaction] as unknown as CompactedResponse['output'],
    usage: {
      input_tokens: input,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: COMPACTION_ITEM_TOKENS,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: input + COMPACTION_ITEM_TOKENS,
    },
  } satisfies CompactedResponse;
  return { ok: true, response };
}
