// The fake's Block Kit checks, driven through the real @slack/web-api client: one rejection per rule.
import { type Logger, LogLevel, webApi } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { budgetReachedBlocks, interruptedBlocks, workingMessage } from '../../../src/slack/blocks.js';
import { type FakeSlack, startFakeSlack } from '../slack-server.js';

function quietLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep =
    (tag: string) =>
    (...msg: unknown[]): void => {
      lines.push(`${tag} ${msg.map(String).join(' ')}`);
    };
  return {
    lines,
    debug: () => {},
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
    setLevel: () => {},
    getLevel: () => LogLevel.DEBUG,
    setName: () => {},
  };
}

let fake: FakeSlack;
let client: webApi.WebClient;

beforeAll(async () => {
  fake = await startFakeSlack();
  client = new webApi.WebClient(fake.ids.botToken, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    logger: quietLogger(),
  });
});

beforeEach(() => fake.reset());

afterAll(async () => {
  await fake.close();
});

const section = (text: string, type = 'mrkdwn') => ({ type: 'section', text: { type, text } });
const button = (fields: Record<string, unknown> = {}) => ({
  type: 'button',
  text: { type: 'plain_text', text: 'Stop' },
  action_id: 'stop',
  value: 'v',
  ...fields,
});
const actions = (...elements: unknown[]) => ({ type: 'actions', elements });
const richText = (text: string) => ({
  type: 'rich_text',
  elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }],
});
const task = (id: string, fields: Record<string, unknown> = {}) => ({
  type: 'task_card',
  task_id: id,
  title: `Task ${id}`,
  status: 'pending',
  ...fields,
});
const plan = (tasks: unknown[], fields: Record<string, unknown> = {}) => ({
  type: 'plan',
  title: 'Plan',
  tasks,
  ...fields,
});

/** Posts through the real WebClient (apiCall: the typed methods would not even let these blocks compile). */
function post(blocks: unknown, method = 'chat.postMessage', extra: Record<string, unknown> = {}) {
  return client.apiCall(method, { channel: 'C1', text: 'fallback', blocks, ...extra });
}

async function expectInvalid(blocks: unknown, pointer: string, message: string, method = 'chat.postMessage') {
  const error = await post(blocks, method, method === 'chat.postEphemeral' ? { user: 'U1' } : {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${method} accepted blocks it should refuse (${pointer})`).toMatchObject({
    code: 'slack_webapi_platform_error',
    data: { ok: false, error: 'invalid_blocks' },
  });
  const errors = (error as { data: { errors: string[] } }).data.errors;
  expect(
    errors.some((e) => e.includes(message) && e.includes(`[json-pointer:${pointer}]`)),
    errors.join('\n'),
  ).toBe(true);
}

describe('Block Kit: what the bot sends passes', () => {
  it('accepts the bot’s working, budget and interrupted messages', async () => {
    const working = workingMessage({ repo: 'acme/widgets', baseBranch: 'main', threadKey: 'C1:1.000001' });
    await client.chat.postMessage({ channel: 'C1', text: working.text, blocks: working.blocks ?? [] });
    const context = { type: 'context' as const, elements: [{ type: 'mrkdwn' as const, text: '7 turns' }] };
    await client.chat.postMessage({
      channel: 'C1',
      text: 'b',
      blocks: budgetReachedBlocks('*Budget*', 'k', [context]),
    });
    await client.chat.postMessage({ channel: 'C1', text: 'i', blocks: interruptedBlocks('*Stopped*', 'k', [context]) });
    expect(fake.calls.map((c) => c.response?.ok)).toEqual([true, true, true]);
  });

  it('accepts header, divider, rich_text, markdown, fields, images and a plan of task cards', async () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'Run 7', emoji: true } },
      { type: 'divider', block_id: 'div' },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Repo*' },
          { type: 'plain_text', text: 'acme' },
        ],
      },
      richText('plain words'),
      { type: 'markdown', text: '**bold**' },
      { type: 'context', elements: [{ type: 'image', image_url: 'https://x/y.png', alt_text: 'logo' }] },
      plan([
        task('t1', { details: richText('ran npm test'), output: richText('3 passed') }),
        task('t2', { status: 'complete', sources: [{ type: 'url', url: 'https://example.com', text: 'example' }] }),
        { task_id: 't3', title: 'untagged task inside a plan' },
      ]),
      task('solo', { status: 'in_progress' }),
    ];
    const res = await post(blocks);
    expect(res.ok).toBe(true);
    expect(fake.messages[0]?.blocks).toEqual(blocks);
  });
});

describe('Block Kit: one rejection per rule', () => {
  const tooMany = (n: number, make: (i: number) => unknown) => Array.from({ length: n }, (_, i) => make(i));
  const cases: Array<[string, unknown, string, string]> = [
    ['unknown block type', [{ type: 'carousel_x' }], '/blocks/0/type', 'unsupported block type'],
    ['unknown field on a block', [{ ...section('hi'), colour: 'red' }], '/blocks/0/colour', 'unknown field'],
    [
      'unknown field on a text object',
      [{ type: 'section', text: { type: 'mrkdwn', text: 'x', emoji: true } }],
      '/blocks/0/text/emoji',
      'unknown field',
    ],
    ['more than 50 blocks', tooMany(51, () => ({ type: 'divider' })), '/blocks', 'no more than 50 items'],
    ['section text over 3000', [section('x'.repeat(3001))], '/blocks/0/text/text', 'less than 3001'],
    ['empty section text', [section('')], '/blocks/0/text/text', 'at least 1 character'],
    ['section with neither text nor fields', [{ type: 'section' }], '/blocks/0', 'either `text` or `fields`'],
    [
      'more than 10 section fields',
      [{ type: 'section', fields: tooMany(11, () => ({ type: 'mrkdwn', text: 'f' })) }],
      '/blocks/0/fields',
      'no more than 10',
    ],
    [
      'button text as mrkdwn (S07)',
      [actions(button({ text: { type: 'mrkdwn', text: 'Stop' } }))],
      '/blocks/0/elements/0/text/type',
      'must be `plain_text`',
    ],
    [
      'button text over 75',
      [actions(button({ text: { type: 'plain_text', text: 'x'.repeat(76) } }))],
      '/blocks/0/elements/0/text/text',
      'less than 76',
    ],
    [
      'button value over 2000',
      [actions(button({ value: 'v'.repeat(2001) }))],
      '/blocks/0/elements/0/value',
      'less than 2001',
    ],
    [
      'action_id over 255',
      [actions(button({ action_id: 'a'.repeat(256) }))],
      '/blocks/0/elements/0/action_id',
      'less than 256',
    ],
    [
      'duplicate action_id within a message',
      [actions(button()), section('between'), actions(button())],
      '/blocks/2/elements/0/action_id',
      'duplicate action_id `stop`',
    ],
    ['button style not primary/danger', [actions(button({ style: 'green' }))], '/blocks/0/elements/0/style', 'one of'],
    [
      'actions with more than 25 elements',
      [actions(...tooMany(26, (i) => button({ action_id: `a${i}` })))],
      '/blocks/0/elements',
      'no more than 25',
    ],
    [
      'actions holding a non-interactive element',
      [actions({ type: 'mrkdwn', text: 'x' })],
      '/blocks/0/elements/0/type',
      'unsupported element',
    ],
    [
      'context with more than 10 elements',
      [{ type: 'context', elements: tooMany(11, () => ({ type: 'mrkdwn', text: 'c' })) }],
      '/blocks/0/elements',
      'no more than 10',
    ],
    [
      'context holding a button',
      [{ type: 'context', elements: [button()] }],
      '/blocks/0/elements/0/type',
      'must be `plain_text` or `mrkdwn`',
    ],
    [
      'header text as mrkdwn',
      [{ type: 'header', text: { type: 'mrkdwn', text: 'H' } }],
      '/blocks/0/text/type',
      'must be `plain_text`',
    ],
    [
      'header text over 150',
      [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }],
      '/blocks/0/text/text',
      'less than 151',
    ],
    ['block_id over 255', [{ type: 'divider', block_id: 'b'.repeat(256) }], '/blocks/0/block_id', 'less than 256'],
    [
      'duplicate block_id',
      [
        { type: 'divider', block_id: 'same' },
        { type: 'divider', block_id: 'same' },
      ],
      '/blocks/1/block_id',
      'duplicate block_id',
    ],
    [
      'markdown block over 12000',
      [{ type: 'markdown', text: 'm'.repeat(12_001) }],
      '/blocks/0/text',
      'less than 12001',
    ],
    [
      'rich_text with an unknown element',
      [{ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'sparkle' }] }] }],
      '/blocks/0/elements/0/elements/0/type',
      'unsupported rich text element',
    ],
    ['plan with more than 50 tasks', [plan(tooMany(51, (i) => task(`t${i}`)))], '/blocks/0/tasks', 'no more than 50'],
    [
      'plan with a duplicate task_id',
      [plan([task('t1'), task('t1')])],
      '/blocks/0/tasks/1/task_id',
      'duplicate task_id',
    ],
    ['plan with an unknown field', [plan([], { icon: 'x' })], '/blocks/0/icon', 'unknown field'],
    [
      'plan title over 255 (unverified limit)',
      [plan([], { title: 'p'.repeat(256) })],
      '/blocks/0/title',
      'less than 256',
    ],
    ['plan without a title', [{ type: 'plan', tasks: [] }], '/blocks/0/title', 'missing required field'],
    [
      'task in a plan with an unknown field',
      [plan([task('t1', { eta: 5 })])],
      '/blocks/0/tasks/0/eta',
      'unknown field',
    ],
    [
      'task with another type in a plan',
      [plan([{ ...task('t1'), type: 'section' }])],
      '/blocks/0/tasks/0/type',
      'must be `task_card`',
    ],
    ['task_card with a bad status', [task('t1', { status: 'done' })], '/blocks/0/status', 'one of'],
    [
      'task_card title over 255 (unverified limit)',
      [task('t1', { title: 't'.repeat(256) })],
      '/blocks/0/title',
      'less than 256',
    ],
    ['task_card without a task_id', [{ type: 'task_card', title: 'x' }], '/blocks/0/task_id', 'missing required field'],
    [
      'task_card details that are not rich_text',
      [task('t1', { details: section('x') })],
      '/blocks/0/details/type',
      'must be `rich_text`',
    ],
    [
      'task_card source that is not a url source',
      [task('t1', { sources: [{ type: 'file', url: 'https://x', text: 'x' }] })],
      '/blocks/0/sources/0/type',
      'must be `url`',
    ],
  ];

  it.each(cases)('refuses %s', async (_name, blocks, pointer, message) => {
    await expectInvalid(blocks, pointer, message);
  });

  it('refuses on chat.update (the message keeps its old blocks) and chat.postEphemeral too', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'root', blocks: [section('old') as never] });
    const mrkdwnButton = [actions(button({ text: { type: 'mrkdwn', text: 'Stop' } }))];
    await expect(
      client.apiCall('chat.update', { channel: 'C1', ts: root.ts, text: 'new', blocks: mrkdwnButton }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    expect(fake.message('C1', root.ts ?? '')).toMatchObject({ text: 'root', blocks: [section('old')] });
    expect(fake.messageHistory('C1', root.ts ?? '')).toHaveLength(1);
    await expectInvalid(mrkdwnButton, '/blocks/0/elements/0/text/type', 'must be `plain_text`', 'chat.postEphemeral');
  });

  it('answers invalid_blocks_format when blocks is not a JSON array, and logs Slack’s [ERROR] lines', async () => {
    const logger = quietLogger();
    const logged = new webApi.WebClient(fake.ids.botToken, {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      logger,
    });
    await expect(
      logged.apiCall('chat.postMessage', { channel: 'C1', text: 't', blocks: 'not json' }),
    ).rejects.toMatchObject({
      data: { error: 'invalid_blocks_format' },
    });
    await expect(logged.apiCall('chat.postMessage', { channel: 'C1', blocks: [section('')] })).rejects.toThrow(
      /invalid_blocks/,
    );
    expect(logger.lines).toContainEqual(
      expect.stringMatching(/^error must be at least 1 character \[json-pointer:\/blocks\/0\/text\/text\]/),
    );
    expect(fake.messages).toEqual([]);
  });
});

describe('views.publish (App Home)', () => {
  const home = (blocks: unknown[], extra: Record<string, unknown> = {}) => ({ type: 'home', blocks, ...extra });

  it('records each published Home view and guards with hash', async () => {
    const first = await client.views.publish({ user_id: 'U1', view: home([section('hello')]) as never });
    expect(first.view).toMatchObject({ type: 'home', blocks: [section('hello')] });
    const hash = first.view?.hash ?? '';
    await client.views.publish({ user_id: 'U1', hash, view: home([section('again')]) as never });
    await expect(
      client.views.publish({ user_id: 'U1', hash, view: home([section('stale')]) as never }),
    ).rejects.toMatchObject({ data: { error: 'hash_conflict' } });
    expect(fake.homeViews('U1').map((v) => v.view.blocks)).toEqual([[section('hello')], [section('again')]]);
    expect(fake.homeView('U1')?.user_id).toBe('U1');
    expect(fake.homeView('U2')).toBeUndefined();
  });

  it('refuses bad views with invalid_arguments, the way views.* report validation errors', async () => {
    const cases: Array<[unknown, string]> = [
      [home(Array.from({ length: 101 }, () => ({ type: 'divider' }))), '/view/blocks'],
      [home([actions(button({ text: { type: 'mrkdwn', text: 'Go' } }))]), '/view/blocks/0/elements/0/text/type'],
      [{ type: 'modal', blocks: [] }, '/view/type'],
      [home([], { submit: { type: 'plain_text', text: 'x' } }), '/view/submit'],
    ];
    for (const [view, pointer] of cases) {
      const error = await client.apiCall('views.publish', { user_id: 'U1', view }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ data: { error: 'invalid_arguments' } });
      const messages = (error as { data: { response_metadata: { messages: string[] } } }).data.response_metadata
        .messages;
      expect(
        messages.some((m) => m.includes(`[json-pointer:${pointer}]`)),
        messages.join('\n'),
      ).toBe(true);
    }
    // 100 blocks are fine in a view (50 is the message limit).
    await client.views.publish({
      user_id: 'U1',
      view: home(Array.from({ length: 100 }, () => ({ type: 'divider' }))) as never,
    });
    await expect(client.apiCall('views.publish', { view: home([]) })).rejects.toMatchObject({
      data: { error: 'invalid_arguments' },
    });
    expect(fake.homeViews('U1')).toHaveLength(1);
  });
});
