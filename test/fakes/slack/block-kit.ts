// A small Block Kit validator: the rules Slack enforces that a bot can plausibly break, not a full schema.
// Every problem is reported as Slack does in `errors` of an `invalid_blocks` answer:
// "<what> [json-pointer:/blocks/0/text/text]".
//
// Limits come from the Block Kit reference (docs.slack.dev/reference/block-kit) and @slack/types 3.2 docs,
// unless marked "(unverified)": then no documented number was found and a conservative value was picked.
// A block or element type missing here is rejected as unknown: add it (with its fields) when the bot starts
// using it, rather than loosening the check.

export type Surface = 'message' | 'home';

/** Blocks per message / per Home tab view. */
export const MAX_BLOCKS: Record<Surface, number> = { message: 50, home: 100 };

export const LIMITS = {
  blockId: 255,
  actionId: 255,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  /** `markdown` block (platform-notes §3: 12 000 per block). */
  markdownText: 12_000,
  actionsElements: 25,
  contextElements: 10,
  /** Text objects in a context block (unverified: Slack documents 3000 for text objects in general). */
  contextText: 3000,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  buttonAccessibilityLabel: 75,
  imageAltText: 2000,
  planTasks: 50,
  /** `plan.title` and `task_card.title` (unverified: no documented maximum found; 255 picked). */
  taskTitle: 255,
  /** `task_card.task_id` (unverified: no documented maximum found; 255 picked). */
  taskId: 255,
} as const;

export const TASK_STATUSES = ['pending', 'in_progress', 'complete', 'error'] as const;

type Obj = Record<string, unknown>;

interface Ctx {
  errors: string[];
  actionIds: Set<string>;
  blockIds: Set<string>;
  taskIds: Set<string>;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(ctx: Ctx, path: string, message: string): void {
  ctx.errors.push(`${message} [json-pointer:${path}]`);
}

/** Checks `type`-tagged object fields: every required one present, nothing unknown. False when not an object. */
function shape(
  ctx: Ctx,
  path: string,
  value: unknown,
  allowed: readonly string[],
  required: readonly string[],
): value is Obj {
  if (!isObj(value)) {
    fail(ctx, path, 'must be an object');
    return false;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(ctx, `${path}/${key}`, `unknown field \`${key}\``);
  }
  for (const key of required) {
    if (value[key] === undefined) fail(ctx, `${path}/${key}`, `missing required field \`${key}\``);
  }
  return true;
}

function string(ctx: Ctx, path: string, value: unknown, max: number, min = 1): value is string {
  if (typeof value !== 'string') {
    fail(ctx, path, 'must be a string');
    return false;
  }
  if (value.length < min) fail(ctx, path, `must be at least ${min} character${min === 1 ? '' : 's'}`);
  if (value.length > max) fail(ctx, path, `must be less than ${max + 1} characters`);
  return true;
}

function optionalString(ctx: Ctx, obj: Obj, path: string, key: string, max: number, min = 1): void {
  if (obj[key] !== undefined) string(ctx, `${path}/${key}`, obj[key], max, min);
}

function array(ctx: Ctx, path: string, value: unknown, max: number, min = 1): value is unknown[] {
  if (!Array.isArray(value)) {
    fail(ctx, path, 'must be an array');
    return false;
  }
  if (value.length < min) fail(ctx, path, `must provide at least ${min} item${min === 1 ? '' : 's'}`);
  if (value.length > max) fail(ctx, path, `must provide no more than ${max} items`);
  return true;
}

function boolean(ctx: Ctx, obj: Obj, path: string, key: string): void {
  if (obj[key] !== undefined && typeof obj[key] !== 'boolean') fail(ctx, `${path}/${key}`, 'must be a boolean');
}

function oneOf(ctx: Ctx, obj: Obj, path: string, key: string, values: readonly string[]): void {
  const v = obj[key];
  if (v !== undefined && (typeof v !== 'string' || !values.includes(v))) {
    fail(ctx, `${path}/${key}`, `must be one of ${values.map((x) => `\`${x}\``).join(', ')}`);
  }
}

/** A text object `{type: 'plain_text' | 'mrkdwn', text, emoji? | verbatim?}` of an allowed type. */
function textObject(
  ctx: Ctx,
  path: string,
  value: unknown,
  types: ReadonlyArray<'plain_text' | 'mrkdwn'>,
  max: number,
) {
  if (!isObj(value)) return fail(ctx, path, 'must be a text object');
  const type = value.type;
  if (type !== 'plain_text' && type !== 'mrkdwn') return fail(ctx, `${path}/type`, 'must be `plain_text` or `mrkdwn`');
  if (!types.includes(type)) return fail(ctx, `${path}/type`, `must be ${types.map((t) => `\`${t}\``).join(' or ')}`);
  const extra = type === 'plain_text' ? 'emoji' : 'verbatim';
  shape(ctx, path, value, ['type', 'text', extra], ['text']);
  if (value.text !== undefined) string(ctx, `${path}/text`, value.text, max);
  boolean(ctx, value, path, extra);
}

function blockId(ctx: Ctx, block: Obj, path: string): void {
  const id = block.block_id;
  if (id === undefined) return;
  if (!string(ctx, `${path}/block_id`, id, LIMITS.blockId)) return;
  // The reference says block_id "should be unique for each message"; Slack answers "Block ID needs to be
  // unique" for views (slack-go/slack#823). Enforced for messages too (unverified for messages).
  if (ctx.blockIds.has(id)) fail(ctx, `${path}/block_id`, `duplicate block_id \`${id}\``);
  ctx.blockIds.add(id);
}

function actionId(ctx: Ctx, element: Obj, path: string): void {
  const id = element.action_id;
  if (id === undefined) return;
  if (!string(ctx, `${path}/action_id`, id, LIMITS.actionId)) return;
  if (ctx.actionIds.has(id)) fail(ctx, `${path}/action_id`, `duplicate action_id \`${id}\``);
  ctx.actionIds.add(id);
}

function button(ctx: Ctx, path: string, el: Obj): void {
  const fields = ['type', 'text', 'action_id', 'value', 'url', 'style', 'confirm', 'accessibility_label'];
  if (!shape(ctx, path, el, fields, ['text'])) return;
  if (el.text !== undefined) textObject(ctx, `${path}/text`, el.text, ['plain_text'], LIMITS.buttonText);
  actionId(ctx, el, path);
  optionalString(ctx, el, path, 'value', LIMITS.buttonValue);
  optionalString(ctx, el, path, 'url', LIMITS.buttonUrl);
  optionalString(ctx, el, path, 'accessibility_label', LIMITS.buttonAccessibilityLabel);
  oneOf(ctx, el, path, 'style', ['primary', 'danger']);
  if (el.confirm !== undefined && !isObj(el.confirm)) fail(ctx, `${path}/confirm`, 'must be an object');
}

function image(ctx: Ctx, path: string, el: Obj, extraFields: readonly string[] = []): void {
  if (!shape(ctx, path, el, ['type', 'image_url', 'slack_file', 'alt_text', ...extraFields], ['alt_text'])) return;
  if ((el.image_url === undefined) === (el.slack_file === undefined)) {
    fail(ctx, path, 'must provide exactly one of `image_url` or `slack_file`');
  }
  optionalString(ctx, el, path, 'image_url', 3000);
  optionalString(ctx, el, path, 'alt_text', LIMITS.imageAltText);
}

/** Interactive or image elements; `allowed` lists the element types this place takes. */
function element(ctx: Ctx, path: string, value: unknown, allowed: readonly string[]) {
  if (!isObj(value)) return fail(ctx, path, 'must be an object');
  const type = value.type;
  if (typeof type !== 'string' || !allowed.includes(type)) {
    return fail(ctx, `${path}/type`, `unsupported element type \`${String(type)}\``);
  }
  if (type === 'button') button(ctx, path, value);
  else image(ctx, path, value);
}

// ---- rich_text ----

const STYLE = 'style';
const INLINE: Record<string, { fields: string[]; required: string[] }> = {
  text: { fields: ['type', 'text', STYLE], required: ['text'] },
  link: { fields: ['type', 'url', 'text', 'unsafe', STYLE], required: ['url'] },
  emoji: { fields: ['type', 'name', 'unicode', 'skin_tone', STYLE], required: ['name'] },
  user: { fields: ['type', 'user_id', STYLE], required: ['user_id'] },
  channel: { fields: ['type', 'channel_id', STYLE], required: ['channel_id'] },
  usergroup: { fields: ['type', 'usergroup_id', STYLE], required: ['usergroup_id'] },
  broadcast: { fields: ['type', 'range', STYLE], required: ['range'] },
  date: { fields: ['type', 'timestamp', 'format', 'url', 'fallback', STYLE], required: ['timestamp', 'format'] },
  color: { fields: ['type', 'value'], required: ['value'] },
};

function inline(ctx: Ctx, path: string, value: unknown) {
  if (!isObj(value)) return fail(ctx, path, 'must be an object');
  const rule = typeof value.type === 'string' ? INLINE[value.type] : undefined;
  if (!rule) return fail(ctx, `${path}/type`, `unsupported rich text element type \`${String(value.type)}\``);
  if (!shape(ctx, path, value, rule.fields, rule.required)) return;
  if (value.type === 'text' && typeof value.text !== 'string') fail(ctx, `${path}/text`, 'must be a string');
  if (value[STYLE] !== undefined && !isObj(value[STYLE])) fail(ctx, `${path}/style`, 'must be an object');
}

function inlines(ctx: Ctx, path: string, value: unknown) {
  if (!Array.isArray(value)) return fail(ctx, path, 'must be an array');
  for (const [i, item] of value.entries()) inline(ctx, `${path}/${i}`, item);
}

function richTextContainer(ctx: Ctx, path: string, value: unknown, only?: string) {
  if (!isObj(value)) return fail(ctx, path, 'must be an object');
  const type = value.type;
  if (only !== undefined && type !== only) return fail(ctx, `${path}/type`, `must be \`${only}\``);
  switch (type) {
    case 'rich_text_section':
      if (shape(ctx, path, value, ['type', 'elements'], ['elements'])) inlines(ctx, `${path}/elements`, value.elements);
      return;
    case 'rich_text_preformatted':
    case 'rich_text_quote': {
      const fields = ['type', 'elements', 'border', ...(type === 'rich_text_preformatted' ? ['language'] : [])];
      if (shape(ctx, path, value, fields, ['elements'])) inlines(ctx, `${path}/elements`, value.elements);
      return;
    }
    case 'rich_text_list': {
      if (
        !shape(ctx, path, value, ['type', 'elements', 'style', 'indent', 'offset', 'border'], ['elements', 'style'])
      ) {
        return;
      }
      oneOf(ctx, value, path, 'style', ['bullet', 'ordered']);
      const items = value.elements;
      if (!Array.isArray(items)) return fail(ctx, `${path}/elements`, 'must be an array');
      for (const [i, item] of items.entries())
        richTextContainer(ctx, `${path}/elements/${i}`, item, 'rich_text_section');
      return;
    }
    default:
      fail(ctx, `${path}/type`, `unsupported rich text type \`${String(type)}\``);
  }
}

/** A `rich_text` object (a block, or the `details` / `output` of a task card). */
function richText(ctx: Ctx, path: string, value: unknown) {
  if (!shape(ctx, path, value, ['type', 'block_id', 'elements'], ['elements'])) return;
  if (value.type !== 'rich_text') fail(ctx, `${path}/type`, 'must be `rich_text`');
  if (value.elements === undefined) return;
  if (!Array.isArray(value.elements)) return fail(ctx, `${path}/elements`, 'must be an array');
  for (const [i, item] of value.elements.entries()) richTextContainer(ctx, `${path}/elements/${i}`, item);
}

// ---- plan / task_card ----

function taskCard(ctx: Ctx, path: string, value: unknown, inPlan: boolean): void {
  const fields = ['type', 'block_id', 'task_id', 'title', 'status', 'details', 'output', 'sources'];
  if (!shape(ctx, path, value, fields, ['task_id', 'title'])) return;
  // Inside a plan the tasks may omit `type` (slack-morphism serialises them untagged).
  if (value.type !== 'task_card' && !(inPlan && value.type === undefined)) {
    fail(ctx, `${path}/type`, 'must be `task_card`');
  }
  if (inPlan) {
    if (value.block_id !== undefined) string(ctx, `${path}/block_id`, value.block_id, LIMITS.blockId);
  } else {
    blockId(ctx, value, path);
  }
  if (value.task_id !== undefined && string(ctx, `${path}/task_id`, value.task_id, LIMITS.taskId)) {
    if (ctx.taskIds.has(value.task_id)) fail(ctx, `${path}/task_id`, `duplicate task_id \`${value.task_id}\``);
    ctx.taskIds.add(value.task_id);
  }
  if (value.title !== undefined) string(ctx, `${path}/title`, value.title, LIMITS.taskTitle);
  // The task card reference lists `status` as optional; when present it must be one of the four.
  oneOf(ctx, value, path, 'status', TASK_STATUSES);
  if (value.details !== undefined) richText(ctx, `${path}/details`, value.details);
  if (value.output !== undefined) richText(ctx, `${path}/output`, value.output);
  if (value.sources !== undefined && array(ctx, `${path}/sources`, value.sources, Number.POSITIVE_INFINITY, 0)) {
    for (const [i, source] of value.sources.entries()) {
      const p = `${path}/sources/${i}`;
      if (!shape(ctx, p, source, ['type', 'url', 'text'], ['type', 'url', 'text'])) continue;
      if (source.type !== 'url') fail(ctx, `${p}/type`, 'must be `url`');
      if (source.url !== undefined) string(ctx, `${p}/url`, source.url, 3000);
      if (source.text !== undefined) string(ctx, `${p}/text`, source.text, LIMITS.taskTitle);
    }
  }
}

function plan(ctx: Ctx, path: string, block: Obj): void {
  if (!shape(ctx, path, block, ['type', 'block_id', 'title', 'tasks'], ['title'])) return;
  blockId(ctx, block, path);
  if (block.title !== undefined) string(ctx, `${path}/title`, block.title, LIMITS.taskTitle);
  if (block.tasks === undefined) return;
  if (!array(ctx, `${path}/tasks`, block.tasks, LIMITS.planTasks, 0)) return;
  const outer = ctx.taskIds;
  ctx.taskIds = new Set(); // task_id is unique within a plan
  for (const [i, task] of block.tasks.entries()) taskCard(ctx, `${path}/tasks/${i}`, task, true);
  ctx.taskIds = outer;
}

// ---- blocks ----

const BLOCKS: Record<string, (ctx: Ctx, path: string, block: Obj) => void> = {
  section(ctx, path, b) {
    if (!shape(ctx, path, b, ['type', 'block_id', 'text', 'fields', 'accessory', 'expand'], [])) return;
    blockId(ctx, b, path);
    if (b.text === undefined && b.fields === undefined) fail(ctx, path, 'must define either `text` or `fields`');
    if (b.text !== undefined) textObject(ctx, `${path}/text`, b.text, ['plain_text', 'mrkdwn'], LIMITS.sectionText);
    if (b.fields !== undefined && array(ctx, `${path}/fields`, b.fields, LIMITS.sectionFields)) {
      for (const [i, f] of b.fields.entries()) {
        textObject(ctx, `${path}/fields/${i}`, f, ['plain_text', 'mrkdwn'], LIMITS.sectionFieldText);
      }
    }
    if (b.accessory !== undefined) element(ctx, `${path}/accessory`, b.accessory, ['button', 'image']);
    boolean(ctx, b, path, 'expand');
  },
  context(ctx, path, b) {
    if (!shape(ctx, path, b, ['type', 'block_id', 'elements'], ['elements'])) return;
    blockId(ctx, b, path);
    if (!array(ctx, `${path}/elements`, b.elements, LIMITS.contextElements)) return;
    for (const [i, el] of b.elements.entries()) {
      const p = `${path}/elements/${i}`;
      if (isObj(el) && el.type === 'image') image(ctx, p, el);
      else textObject(ctx, p, el, ['plain_text', 'mrkdwn'], LIMITS.contextText);
    }
  },
  actions(ctx, path, b) {
    if (!shape(ctx, path, b, ['type', 'block_id', 'elements'], ['elements'])) return;
    blockId(ctx, b, path);
    if (!array(ctx, `${path}/elements`, b.elements, LIMITS.actionsElements)) return;
    for (const [i, el] of b.elements.entries()) element(ctx, `${path}/elements/${i}`, el, ['button']);
  },
  header(ctx, path, b) {
    if (!shape(ctx, path, b, ['type', 'block_id', 'text'], ['text'])) return;
    blockId(ctx, b, path);
    if (b.text !== undefined) textObject(ctx, `${path}/text`, b.text, ['plain_text'], LIMITS.headerText);
  },
  divider(ctx, path, b) {
    if (shape(ctx, path, b, ['type', 'block_id'], [])) blockId(ctx, b, path);
  },
  markdown(ctx, path, b) {
    if (!shape(ctx, path, b, ['type', 'block_id', 'text'], ['text'])) return;
    blockId(ctx, b, path);
    if (b.text !== undefined) string(ctx, `${path}/text`, b.text, LIMITS.markdownText);
  },
  image(ctx, path, b) {
    image(ctx, path, b, ['block_id', 'title']);
    blockId(ctx, b, path);
    if (b.title !== undefined) textObject(ctx, `${path}/title`, b.title, ['plain_text'], 2000);
  },
  rich_text(ctx, path, b) {
    richText(ctx, path, b);
    if (isObj(b)) blockId(ctx, b, path);
  },
  plan(ctx, path, b) {
    plan(ctx, path, b);
  },
  task_card(ctx, path, b) {
    taskCard(ctx, path, b, false);
  },
};

/** Block types the validator knows. */
export const KNOWN_BLOCK_TYPES: readonly string[] = Object.keys(BLOCKS);

/**
 * Problems with `blocks` on `surface`, in Slack's `errors` format (empty when valid). `pointerBase` is the
 * JSON pointer of the array (`/blocks` for messages, `/view/blocks` for views).
 */
export function validateBlocks(blocks: unknown, surface: Surface, pointerBase = '/blocks'): string[] {
  const ctx: Ctx = { errors: [], actionIds: new Set(), blockIds: new Set(), taskIds: new Set() };
  if (!Array.isArray(blocks)) {
    fail(ctx, pointerBase, 'must be an array');
    return ctx.errors;
  }
  if (blocks.length > MAX_BLOCKS[surface]) {
    fail(ctx, pointerBase, `must provide no more than ${MAX_BLOCKS[surface]} items`);
  }
  for (const [i, block] of blocks.entries()) {
    const path = `${pointerBase}/${i}`;
    const rule = isObj(block) && typeof block.type === 'string' ? BLOCKS[block.type] : undefined;
    if (!isObj(block)) fail(ctx, path, 'must be an object');
    else if (!rule) fail(ctx, `${path}/type`, `unsupported block type \`${String(block.type)}\``);
    else rule(ctx, path, block);
  }
  return ctx.errors;
}
