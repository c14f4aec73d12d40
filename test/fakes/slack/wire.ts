// Slack wire shapes shared by the fake Web API, the signed HTTP helpers and the fake Socket Mode.
// See docs/platform-notes.md §3 ("Inbound wire").

export const DEFAULT_IDS = {
  teamId: 'T000TEST',
  teamDomain: 'test-team',
  teamName: 'Test Team',
  appId: 'A0TEST',
  botUserId: 'U0BOT',
  botId: 'B0BOT',
  botName: 'ai-dev',
  userId: 'U0USER',
  channelId: 'C0TEST',
} as const;

let lastMicros = 0;

/** A fresh Slack message ts (`"<sec>.<6 digits>"`), strictly increasing within this process. */
export function nextTs(): string {
  lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
  const sec = Math.floor(lastMicros / 1_000_000);
  const frac = lastMicros % 1_000_000;
  return `${sec}.${String(frac).padStart(6, '0')}`;
}

let counter = 0;
/** A process-unique suffix for ids (event ids, trigger ids, envelope ids). */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36).toUpperCase()}${counter}`;
}

export type SlackEvent = Record<string, unknown> & { type: string };

export interface MessageEventInput {
  user?: string;
  channel?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  team?: string;
  /** Extra fields copied onto the event (e.g. `subtype`, `bot_id`, `channel_type`). */
  extra?: Record<string, unknown>;
}

function baseMessage(type: string, input: MessageEventInput): SlackEvent {
  const ts = input.ts ?? nextTs();
  const event: SlackEvent = {
    type,
    user: input.user ?? DEFAULT_IDS.userId,
    text: input.text ?? `<@${DEFAULT_IDS.botUserId}> hello`,
    ts,
    team: input.team ?? DEFAULT_IDS.teamId,
    channel: input.channel ?? DEFAULT_IDS.channelId,
    event_ts: ts,
  };
  if (input.thread_ts !== undefined) event.thread_ts = input.thread_ts;
  return { ...event, ...input.extra };
}

/** An `app_mention` event (include `<@U0BOT>` in `text` yourself; the default text does). */
export function mentionEvent(input: MessageEventInput = {}): SlackEvent {
  return baseMessage('app_mention', input);
}

/** A `message` event from `message.channels` (`channel_type: 'channel'`). */
export function messageEvent(input: MessageEventInput = {}): SlackEvent {
  return {
    ...baseMessage('message', { ...input, text: input.text ?? 'hello' }),
    channel_type: 'channel',
    ...input.extra,
  };
}

export interface EventEnvelopeOptions {
  eventId?: string;
  teamId?: string;
  apiAppId?: string;
  /** The bot user id put in `authorizations` (default `U0BOT`). */
  botUserId?: string;
  eventTime?: number;
}

/** The `event_callback` body Slack POSTs to `/slack/events` (and puts in an `events_api` envelope's payload). */
export function eventCallbackBody(event: SlackEvent, options: EventEnvelopeOptions = {}): Record<string, unknown> {
  const teamId = options.teamId ?? DEFAULT_IDS.teamId;
  return {
    token: 'verification-token',
    team_id: teamId,
    context_team_id: teamId,
    context_enterprise_id: null,
    api_app_id: options.apiAppId ?? DEFAULT_IDS.appId,
    event,
    type: 'event_callback',
    event_id: options.eventId ?? uniqueId('Ev'),
    event_time: options.eventTime ?? Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: teamId,
        user_id: options.botUserId ?? DEFAULT_IDS.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: uniqueId('4-ctx-'),
  };
}

export interface CommandInput {
  command?: string;
  text?: string;
  user_id?: string;
  user_name?: string;
  channel_id?: string;
  channel_name?: string;
  team_id?: string;
  team_domain?: string;
  response_url?: string;
  trigger_id?: string;
  api_app_id?: string;
  [field: string]: string | undefined;
}

/** Slash-command fields (HTTP: form-encoded; Socket Mode: the `slash_commands` payload). */
export function commandPayload(input: CommandInput = {}): Record<string, string> {
  const fields: Record<string, string | undefined> = {
    token: 'verification-token',
    team_id: DEFAULT_IDS.teamId,
    team_domain: DEFAULT_IDS.teamDomain,
    channel_id: DEFAULT_IDS.channelId,
    channel_name: 'general',
    user_id: DEFAULT_IDS.userId,
    user_name: 'tester',
    command: '/ai-dev',
    text: '',
    api_app_id: DEFAULT_IDS.appId,
    is_enterprise_install: 'false',
    trigger_id: uniqueId('trigger.'),
    ...input,
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}

export interface BlockActionInput {
  user?: string;
  channel?: string;
  message_ts: string;
  thread_ts?: string;
  action_id: string;
  value?: string;
  block_id?: string;
  response_url?: string;
  team_id?: string;
  /** Text of the message holding the button. */
  message_text?: string;
}

/** A `block_actions` payload for a button click on a message. */
export function blockActionPayload(input: BlockActionInput): Record<string, unknown> {
  const teamId = input.team_id ?? DEFAULT_IDS.teamId;
  const channel = input.channel ?? DEFAULT_IDS.channelId;
  const user = input.user ?? DEFAULT_IDS.userId;
  const container: Record<string, unknown> = {
    type: 'message',
    message_ts: input.message_ts,
    channel_id: channel,
    is_ephemeral: false,
  };
  const message: Record<string, unknown> = {
    type: 'message',
    user: DEFAULT_IDS.botUserId,
    bot_id: DEFAULT_IDS.botId,
    text: input.message_text ?? '',
    ts: input.message_ts,
  };
  if (input.thread_ts !== undefined) {
    container.thread_ts = input.thread_ts;
    message.thread_ts = input.thread_ts;
  }
  const payload: Record<string, unknown> = {
    type: 'block_actions',
    user: { id: user, username: 'tester', name: 'tester', team_id: teamId },
    api_app_id: DEFAULT_IDS.appId,
    token: 'verification-token',
    container,
    trigger_id: uniqueId('trigger.'),
    team: { id: teamId, domain: DEFAULT_IDS.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'general' },
    message,
    state: { values: {} },
    actions: [
      {
        action_id: input.action_id,
        block_id: input.block_id ?? 'actions',
        value: input.value ?? '',
        type: 'button',
        text: { type: 'plain_text', text: input.action_id, emoji: true },
        action_ts: nextTs(),
      },
    ],
  };
  if (input.response_url !== undefined) payload.response_url = input.response_url;
  return payload;
}
