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
  /** The bot's DM (App Home "Messages" tab) with the default user. */
  dmChannelId: 'D0BOT',
  /** Another app in the workspace (its bot user, bot id and app id). */
  otherBotUserId: 'U0OTHERBOT',
  otherBotId: 'B0OTHER',
  otherAppId: 'A0OTHER',
  /** Another organisation's workspace (Slack Connect). */
  externalTeamId: 'T0EXTERNAL',
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
  /** Team of the message (default `T000TEST`). For a Slack Connect user, their own organisation's team. */
  team?: string;
  /** Slack Connect: the team of the user who posted (e.g. `DEFAULT_IDS.externalTeamId`). */
  user_team?: string;
  /** Slack Connect: the team the message was posted from. */
  source_team?: string;
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
  if (input.user_team !== undefined) event.user_team = input.user_team;
  if (input.source_team !== undefined) event.source_team = input.source_team;
  if (input.thread_ts !== undefined) event.thread_ts = input.thread_ts;
  return { ...event, ...input.extra };
}

/** The fields Slack Connect puts on a message from a user of another organisation (`teamId`). */
export function externalUser(
  teamId: string = DEFAULT_IDS.externalTeamId,
): Pick<MessageEventInput, 'team' | 'user_team' | 'source_team'> {
  return { team: teamId, user_team: teamId, source_team: teamId };
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

export interface BotMessageInput {
  channel?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  /**
   * `bot_user` (default): an app posting with its bot token (`user` = its bot user, `bot_id`, `app_id`,
   * no subtype), the way our own posts arrive. `bot_message`: `subtype: 'bot_message'` with `bot_id` and
   * `username` and no `user` (incoming webhooks, legacy bots, `chat:write.customize`).
   */
  style?: 'bot_user' | 'bot_message';
  /** Default `U0OTHERBOT` (ignored for `bot_message`). */
  user?: string;
  /** Default `B0OTHER`. */
  bot_id?: string;
  /** Default `A0OTHER`. */
  app_id?: string;
  /** Display name (default `other-app`). */
  username?: string;
  team?: string;
  blocks?: unknown[];
  extra?: Record<string, unknown>;
}

/** A `message` event for a post by another app (or, with our ids, by our own bot: the echo). */
export function botMessageEvent(input: BotMessageInput = {}): SlackEvent {
  const ts = input.ts ?? nextTs();
  const botId = input.bot_id ?? DEFAULT_IDS.otherBotId;
  const appId = input.app_id ?? DEFAULT_IDS.otherAppId;
  const team = input.team ?? DEFAULT_IDS.teamId;
  const username = input.username ?? 'other-app';
  const event: SlackEvent =
    input.style === 'bot_message'
      ? {
          type: 'message',
          subtype: 'bot_message',
          text: input.text ?? 'hello from another app',
          ts,
          username,
          bot_id: botId,
          app_id: appId,
        }
      : {
          type: 'message',
          user: input.user ?? DEFAULT_IDS.otherBotUserId,
          bot_id: botId,
          app_id: appId,
          text: input.text ?? 'hello from another app',
          ts,
          team,
          bot_profile: { id: botId, app_id: appId, name: username, deleted: false, team_id: team },
        };
  if (input.blocks !== undefined) event.blocks = input.blocks;
  event.channel = input.channel ?? DEFAULT_IDS.channelId;
  event.event_ts = ts;
  event.channel_type = 'channel';
  if (input.thread_ts !== undefined) event.thread_ts = input.thread_ts;
  return { ...event, ...input.extra };
}

/** `message_changed`: what Slack sends (with `message.channels`) after a `chat.update`. */
export function messageChangedEvent(input: {
  channel: string;
  message: Record<string, unknown>;
  previous_message: Record<string, unknown>;
}): SlackEvent {
  const ts = nextTs();
  return {
    type: 'message',
    subtype: 'message_changed',
    hidden: true,
    channel: input.channel,
    channel_type: 'channel',
    ts,
    event_ts: ts,
    message: input.message,
    previous_message: input.previous_message,
  };
}

/** `message_deleted`: what Slack sends (with `message.channels`) after a `chat.delete`. */
export function messageDeletedEvent(input: {
  channel: string;
  deleted_ts: string;
  previous_message: Record<string, unknown>;
}): SlackEvent {
  const ts = nextTs();
  return {
    type: 'message',
    subtype: 'message_deleted',
    hidden: true,
    channel: input.channel,
    channel_type: 'channel',
    ts,
    event_ts: ts,
    deleted_ts: input.deleted_ts,
    previous_message: input.previous_message,
  };
}

/** `app_home_opened` (default: the Home tab, user `U0USER`, DM `D0BOT`). */
export function appHomeOpenedEvent(
  input: { user?: string; channel?: string; tab?: 'home' | 'messages'; view?: Record<string, unknown> } = {},
): SlackEvent {
  const event: SlackEvent = {
    type: 'app_home_opened',
    user: input.user ?? DEFAULT_IDS.userId,
    channel: input.channel ?? DEFAULT_IDS.dmChannelId,
    tab: input.tab ?? 'home',
    event_ts: nextTs(),
  };
  if (input.view !== undefined) event.view = input.view;
  return event;
}

/** `agent_session_stopped`: the user pressed Stop on an agent session (platform-notes §6). */
export function agentSessionStoppedEvent(input: {
  channel?: string;
  thread_ts: string;
  user?: string;
  streaming_message_ts?: string[];
}): SlackEvent {
  return {
    type: 'agent_session_stopped',
    channel: input.channel ?? DEFAULT_IDS.channelId,
    thread_ts: input.thread_ts,
    user: input.user ?? DEFAULT_IDS.userId,
    streaming_message_ts: input.streaming_message_ts ?? [],
    event_ts: nextTs(),
  };
}

export interface EventEnvelopeOptions {
  /** Slack Connect: the channel is shared with another organisation. */
  isExtSharedChannel?: boolean;
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
    is_ext_shared_channel: options.isExtSharedChannel ?? false,
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
  /** Slack Connect: the clicking user's own team (default: `team_id`). */
  user_team_id?: string;
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
    user: { id: user, username: 'tester', name: 'tester', team_id: input.user_team_id ?? teamId },
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
