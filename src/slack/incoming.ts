import type { WebClient } from '@slack/web-api';
import type { AccessPolicy } from '../access/access-policy.js';
import type { Logger } from '../lib/logger.js';
import { branchName } from '../runs/branch-name.js';
import { type RunCoordinator, threadKeyOf } from '../runs/coordinator.js';
import type { EventLedger } from '../store/event-ledger.js';
import type { ChannelLink, LinkStore } from '../store/link-store.js';
import type { ThreadStore } from '../store/thread-store.js';
import { workingMessage } from './blocks.js';
import { describeFailure } from './failure.js';
import { boundText, slackToPlainText } from './text.js';

export interface IncomingDeps {
  links: LinkStore;
  threads: ThreadStore;
  ledger: EventLedger;
  coordinator: RunCoordinator;
  access: AccessPolicy;
  logger: Logger;
  botUserId: () => string | undefined;
}

export interface IncomingMessage {
  channel: string;
  ts: string;
  /** The thread the message belongs to (its own ts for a top-level message). */
  threadTs: string;
  user: string;
  text: string;
  mention: boolean;
}

export function parseThreadKey(value: string): { channel: string; threadTs: string } | undefined {
  const match = /^([A-Z0-9]+):(\d+\.\d+)$/.exec(value);
  return match?.[1] && match[2] ? { channel: match[1], threadTs: match[2] } : undefined;
}

/**
 * A message for the bot (a mention, or a reply in one of its threads): claimed once, then
 * started, queued or answered with what to do. Every path says something in the thread.
 */
export async function handleIncoming(deps: IncomingDeps, client: WebClient, message: IncomingMessage): Promise<void> {
  const log = deps.logger.child({ channel: message.channel, ts: message.ts, thread: message.threadTs });
  const reply = (text: string, blocks?: unknown[]) =>
    client.chat.postMessage({
      channel: message.channel,
      thread_ts: message.threadTs,
      text,
      ...(blocks ? { blocks: blocks as never } : {}),
    });
  try {
    if (!(await deps.ledger.claimMessage(message.channel, message.ts))) {
      log.debug('message already taken (twin event or retry)');
      return;
    }
    if (!deps.access.mayRun(message.user)) {
      await client.chat.postEphemeral({
        channel: message.channel,
        user: message.user,
        thread_ts: message.threadTs,
        text: 'Sorry, you are not on the list of people who may start or steer my work here, so I left this message alone. Ask the bot’s operator (ALLOW_RUN_USERS).',
      });
      return;
    }
    const text = boundText(slackToPlainText(message.text, deps.botUserId()));
    const queued = { user: message.user, text, ts: message.ts };
    const existing = await deps.threads.get(message.channel, message.threadTs);
    if (existing) {
      // A link removed (or a repo no longer allowed) since the thread began stops its follow-ups.
      const links = await deps.links.list(message.channel);
      const gone = existing.repos.filter(
        (r) => !links.some((l) => l.repo.toLowerCase() === r.repo.toLowerCase()) || !deps.access.repoAllowed(r.repo),
      );
      if (gone.length > 0) {
        await reply(
          `${gone.map((r) => `*${r.repo}*`).join(', ')} is no longer linked to this channel (or no longer allowed), so I left this alone. Link it again with \`/ai-dev link owner/repo\` to go on.`,
        );
        return;
      }
      const working = workingMessage({
        repo: existing.repos.map((r) => r.repo).join(', '),
        baseBranch: existing.repos[0]?.branch,
        threadKey: threadKeyOf(message.channel, message.threadTs),
        note: 'Follow-up on the same branch and pull request.',
      });
      const result = await deps.coordinator.submit(message.channel, message.threadTs, queued, undefined, () =>
        reply(working.text, working.blocks),
      );
      if (result === 'queued') await reply('Got it: I’ll read this at my next step.');
      return;
    }
    if (!message.mention) return;
    const links = await deps.links.list(message.channel);
    if (links.length === 0) {
      await reply(
        'No GitHub repo is linked to this channel yet. Link one with `/ai-dev link owner/repo`, then mention me again with the task.',
      );
      return;
    }
    if (text.trim() === '') {
      await reply('What should I do? Mention me with a task, e.g. `@ai-dev fix the flaky date test`.');
      return;
    }
    const chosen = pickRepos(links, text);
    const branch = branchName(text);
    const working = workingMessage({
      repo: chosen.map((l) => l.repo).join(', '),
      baseBranch: chosen.length === 1 ? chosen[0]?.defaultBranch : undefined,
      threadKey: threadKeyOf(message.channel, message.threadTs),
    });
    // The thread exists before its first reply (so a reply typed at once is a follow-up), and the
    // reply goes out before the run starts, so it is always the thread's first.
    await deps.coordinator.submit(
      message.channel,
      message.threadTs,
      queued,
      {
        startedBy: message.user,
        repos: chosen.map((l) => ({ repo: l.repo, baseBranch: l.defaultBranch, branch, private: l.private })),
      },
      () => reply(working.text, working.blocks),
    );
  } catch (error) {
    await reply(describeFailure(error, log, { stage: 'incoming message' })).catch((postError: unknown) =>
      log.error({ err: postError }, 'could not tell the thread about a failure'),
    );
  }
}

/** A repo named in the task (owner/name or just name) wins; otherwise every linked repo. */
export function pickRepos(links: ChannelLink[], text: string): ChannelLink[] {
  const lower = text.toLowerCase();
  const full = links.filter((l) => lower.includes(l.repo.toLowerCase()));
  if (full.length > 0) return full;
  const byName = links.filter((l) =>
    new RegExp(`\\b${escapeRegExp(l.repo.split('/')[1]?.toLowerCase() ?? '')}\\b`).test(lower),
  );
  if (byName.length === 1) return byName;
  return links;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
