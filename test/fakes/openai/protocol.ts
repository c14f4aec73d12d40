/**
 * What the fake refuses, as the API does: input items of the wrong shape, and a conversation whose function calls
 * and outputs do not pair up. Every check returns an `ErrorSpec` for a 400 (or null); nothing here touches state.
 *
 * Message wording follows errors the API is seen to send (quoted in public bug reports and proxies):
 * `Missing required parameter: 'input[3].call_id'.`, `Unknown parameter: 'input[0].author'.`, `Invalid type for
 * 'input[0].output': expected one of a string or array of objects, but got an object instead.`, `No tool output found
 * for function call call_….`, `No tool call found for function call output with call_id call_….` Rules or words
 * that could not be confirmed say so with (unverified).
 */
import type { ErrorSpec, StoredItem } from './steps.js';

export type Parsed = { ok: true; items: StoredItem[] } | { ok: false; error: ErrorSpec };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How the API names a JSON value's type in `Invalid type … but got X instead.` */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  return 'an object';
}

function missing(param: string): ErrorSpec {
  return { message: `Missing required parameter: '${param}'.`, param, code: 'missing_required_parameter' };
}

function unknown(param: string): ErrorSpec {
  return { message: `Unknown parameter: '${param}'.`, param, code: 'unknown_parameter' };
}

function invalidType(param: string, expected: string, value: unknown): ErrorSpec {
  return {
    message: `Invalid type for '${param}': expected ${expected}, but got ${kindOf(value)} instead.`,
    param,
    code: 'invalid_type',
  };
}

/** `Invalid value: 'x'. Supported values are: 'a', 'b', and 'c'.` (wording unverified). */
function invalidValue(param: string, value: string, supported: readonly string[]): ErrorSpec {
  const quoted = supported.map((s) => `'${s}'`);
  const list = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')}, and ${quoted.at(-1)}` : (quoted[0] ?? '');
  return { message: `Invalid value: '${value}'. Supported values are: ${list}.`, param, code: 'invalid_value' };
}

/** A required string: present, a string, not empty, at most `max` characters (seen for `call_id`: 64). */
function checkString(item: Record<string, unknown>, key: string, at: string, max?: number): ErrorSpec | null {
  const param = `${at}.${key}`;
  const value = item[key];
  if (value === undefined) return missing(param);
  if (typeof value !== 'string') return invalidType(param, 'a string', value);
  if (value === '') {
    return {
      message: `Invalid '${param}': empty string. Expected a string with minimum length 1, but got an empty string instead.`,
      param,
      code: 'empty_string',
    };
  }
  if (max !== undefined && value.length > max) {
    return {
      message: `Invalid '${param}': string too long. Expected a string with maximum length ${max}, but got a string with length ${value.length} instead.`,
      param,
      code: 'string_above_max_length',
    };
  }
  return null;
}

/**
 * Fields each modelled item type accepts (openai 7.59 `ResponseInputItem`). `id` and `status` are accepted where the
 * SDK's param types have them, so items read back from a conversation can be sent again.
 */
const FIELDS: Record<string, readonly string[]> = {
  message: ['type', 'role', 'content', 'id', 'status', 'phase'],
  function_call: ['type', 'call_id', 'name', 'arguments', 'id', 'status', 'namespace', 'caller', 'async'],
  function_call_output: ['type', 'call_id', 'output', 'id', 'status', 'caller', 'name', 'namespace'],
  reasoning: ['type', 'id', 'summary', 'content', 'encrypted_content', 'status'],
  // `created_by` exists on the output item only, not on `ResponseCompactionItemParam` (unverified server-side).
  compaction: ['type', 'encrypted_content', 'id'],
};

/** Other `ResponseInputItem` types: accepted as they are, without shape checks (the bot sends none of them). */
const UNMODELLED = [
  'file_search_call',
  'computer_call',
  'computer_call_output',
  'web_search_call',
  'tool_search_call',
  'tool_search_output',
  'additional_tools',
  'configuration_update',
  'image_generation_call',
  'code_interpreter_call',
  'local_shell_call',
  'local_shell_call_output',
  'shell_call',
  'shell_call_output',
  'apply_patch_call',
  'apply_patch_call_output',
  'mcp_list_tools',
  'mcp_approval_request',
  'mcp_approval_response',
  'mcp_call',
  'custom_tool_call',
  'custom_tool_call_output',
  'compaction_trigger',
  'item_reference',
  'program',
  'program_output',
];

const ROLES = ['assistant', 'developer', 'system', 'user'];
const INPUT_PARTS = ['input_text', 'input_image', 'input_file'];
const ASSISTANT_PARTS = ['output_text', 'refusal'];

function checkContent(item: Record<string, unknown>, at: string): ErrorSpec | null {
  const content = item.content;
  if (content === undefined) return missing(`${at}.content`);
  if (typeof content === 'string') return null;
  if (!Array.isArray(content)) return invalidType(`${at}.content`, 'one of a string or array of objects', content);
  const allowed = item.role === 'assistant' ? ASSISTANT_PARTS : INPUT_PARTS;
  for (const [index, part] of content.entries()) {
    const partAt = `${at}.content[${index}]`;
    if (!isRecord(part)) return invalidType(partAt, 'an object', part);
    if (part.type === undefined) return missing(`${partAt}.type`);
    if (typeof part.type !== 'string' || !allowed.includes(part.type)) {
      return invalidValue(`${partAt}.type`, String(part.type), allowed);
    }
    if (part.type === 'input_text' || part.type === 'output_text') {
      if (part.text === undefined) return missing(`${partAt}.text`);
      if (typeof part.text !== 'string') return invalidType(`${partAt}.text`, 'a string', part.text);
    }
  }
  return null;
}

function checkOutput(item: Record<string, unknown>, at: string): ErrorSpec | null {
  const output = item.output;
  if (output === undefined) return missing(`${at}.output`);
  if (typeof output === 'string') return null;
  // SDK 7 also allows a list of input_text / input_image / input_file parts.
  if (Array.isArray(output) && output.every(isRecord)) return null;
  return invalidType(`${at}.output`, 'one of a string or array of objects', output);
}

/** Shape errors of one item (already known to be an object with a string `type`). */
function checkItem(item: Record<string, unknown>, type: string, at: string): ErrorSpec | null {
  const fields = FIELDS[type];
  if (fields === undefined) return null;
  for (const key of Object.keys(item)) {
    if (!fields.includes(key)) return unknown(`${at}.${key}`);
  }
  switch (type) {
    case 'message': {
      if (item.role === undefined) return missing(`${at}.role`);
      if (typeof item.role !== 'string' || !ROLES.includes(item.role)) {
        return invalidValue(`${at}.role`, String(item.role), ROLES);
      }
      return checkContent(item, at);
    }
    case 'function_call':
      return (
        checkString(item, 'call_id', at, 64) ??
        checkString(item, 'name', at) ??
        (item.arguments === undefined
          ? missing(`${at}.arguments`)
          : typeof item.arguments === 'string'
            ? null
            : invalidType(`${at}.arguments`, 'a string', item.arguments))
      );
    case 'function_call_output':
      // SDK 7 types mark `call_id` optional (outputs of programmatic callers); an output for a model's function call
      // cannot be paired without it, and the API answers `Missing required parameter` (seen).
      return checkString(item, 'call_id', at, 64) ?? checkOutput(item, at);
    case 'reasoning':
      if (item.summary === undefined) return missing(`${at}.summary`);
      return Array.isArray(item.summary) ? null : invalidType(`${at}.summary`, 'an array of objects', item.summary);
    case 'compaction':
      return checkString(item, 'encrypted_content', at);
    default:
      return null;
  }
}

/** The item as the API stores it: `type` filled in, string content as one text part, `status` completed. */
function normalize(raw: Record<string, unknown>, type: string): StoredItem {
  const item: Record<string, unknown> = { ...structuredClone(raw), type };
  if (type === 'message') {
    if (typeof item.content === 'string') {
      item.content =
        item.role === 'assistant'
          ? [{ type: 'output_text', text: item.content, annotations: [] }]
          : [{ type: 'input_text', text: item.content }];
    }
    item.status ??= 'completed';
  }
  if (type === 'function_call' || type === 'function_call_output') item.status ??= 'completed';
  return item as StoredItem;
}

/**
 * Validates request `input` (or conversation `items`, with `param` `items`) and returns the items as stored.
 * `input` may be absent, a string (one user message) or an array of items; `items` must be an array.
 */
export function parseItems(raw: unknown, param: 'input' | 'items'): Parsed {
  if (raw === undefined || raw === null) return { ok: true, items: [] };
  if (typeof raw === 'string' && param === 'input') {
    return { ok: true, items: [normalize({ role: 'user', content: raw }, 'message')] };
  }
  if (!Array.isArray(raw)) {
    const expected = param === 'input' ? 'one of a string or array of input items' : 'an array of input items';
    return { ok: false, error: invalidType(param, expected, raw) };
  }
  const items: StoredItem[] = [];
  for (const [index, entry] of raw.entries()) {
    const at = `${param}[${index}]`;
    if (!isRecord(entry)) return { ok: false, error: invalidType(at, 'an input item', entry) };
    // A `{role, content}` without `type` is an EasyInputMessage.
    const type = entry.type ?? (entry.role !== undefined ? 'message' : undefined);
    if (type === undefined) return { ok: false, error: missing(`${at}.type`) };
    if (typeof type !== 'string' || !(type in FIELDS || UNMODELLED.includes(type))) {
      return { ok: false, error: invalidValue(`${at}.type`, String(type), [...Object.keys(FIELDS), ...UNMODELLED]) };
    }
    const error = checkItem(entry, type, at);
    if (error) return { ok: false, error };
    items.push(normalize(entry, type));
  }
  return { ok: true, items };
}

/** `items` may hold at most 20 entries on `POST /conversations` and `POST /conversations/{id}/items` (SDK docs). */
export const MAX_ITEMS_PER_REQUEST = 20;

export function checkItemCount(items: unknown): ErrorSpec | null {
  if (!Array.isArray(items) || items.length <= MAX_ITEMS_PER_REQUEST) return null;
  return {
    message: `Invalid 'items': array too long. Expected an array with maximum length ${MAX_ITEMS_PER_REQUEST}, but got an array with length ${items.length} instead.`,
    param: 'items',
    code: 'array_above_max_length',
  };
}

/** The items the model sees: those after the last `compaction` item (which stands in for everything before it). */
export function afterLastCompaction(items: readonly StoredItem[]): StoredItem[] {
  let last = -1;
  items.forEach((item, index) => {
    if (item.type === 'compaction') last = index;
  });
  return items.slice(last + 1);
}

/**
 * The function-call protocol of one request: `context` (the conversation's items) followed by `input`.
 * - An output in `input` must follow a `function_call` with its `call_id`: else `No tool call found for function call
 *   output with call_id …` (seen).
 * - After the input, every `function_call` must have an output: else `No tool output found for function call …`
 *   (seen; the API checks this before the model runs, so nothing is appended).
 * Calls before the last `compaction` item are compacted away: an output for one of them counts as unknown
 * (unverified; conservative). A second output for an answered call is accepted (unverified) so that the
 * `duplicateCallOutputs` oracle can report it.
 */
export function checkCallPairing(context: readonly StoredItem[], input: readonly StoredItem[]): ErrorSpec | null {
  const visible = afterLastCompaction([...context, ...input]);
  const inputStart = visible.length - afterLastCompaction(input).length;
  const answered = new Map<string, boolean>();
  for (const [index, item] of visible.entries()) {
    const callId = typeof item.call_id === 'string' ? item.call_id : '';
    if (item.type === 'function_call') {
      if (!answered.has(callId)) answered.set(callId, false);
    } else if (item.type === 'function_call_output') {
      if (answered.has(callId)) answered.set(callId, true);
      else if (index >= inputStart) {
        return {
          message: `No tool call found for function call output with call_id ${callId}.`,
          param: 'input',
        };
      }
    }
  }
  for (const [callId, done] of answered) {
    if (!done) return { message: `No tool output found for function call ${callId}.`, param: 'input' };
  }
  return null;
}
