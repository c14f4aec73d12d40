import { branchName } from '../github/branch-name.js';
import type { EventLedger } from '../store/event-ledger.js';
import type { ChannelLink, LinkStore } from '../store/link-store.js';
import type { ThreadStore } from '../store/thread-store.js';
import type { AccessPolicy } from './access-policy.js';
import { type MentionOptionRules, type RunSettings, readMentionOptions, storedOptions } from './budget.js';
import type { RunEngine } from './run-engine.js';

/** A message for the bot, already in plain text (the chat front end turned its markup into words). */
export interface IncomingMessage {
  channel: string;
  ts: string;
  /** The thread the message belongs to (its own ts for a top-level message). */
  threadTs: string;
  user: string;
  /** The writer's organisation, when the chat tool says (a Slack Connect user's differs from the app's). */
  team?: string;
  text: string;
  /** The bot was mentioned (a new task may start); a plain reply only continues a known thread. */
  mention: boolean;
}

/** What the first reply of a run names, posted before the run starts. */
export interface RunAnnouncement {
  repos: string[];
  /** The base branch of a single repo (a new thread), or the thread's branch (a follow-up). */
  branch: string | undefined;
  followUp: boolean;
  /** The model, effort and budget the run goes with, when runs are priced. */
  settings?: RunSettings;
}

/** What became of a message; the front end turns each into words (or silence, for a duplicate). */
export type IntakeDecision =
  | { kind: 'duplicate' }
  | { kind: 'not-allowed' }
  /** Someone from another organisation, and ALLOW_EXTERNAL_USERS is not set. */
  | { kind: 'outsider' }
  /** Repos are linked here, but none is on ALLOW_REPOS (it was tightened after they were linked). */
  | { kind: 'repos-not-allowed'; repos: string[] }
  /** A plain message outside the bot's threads: not for the bot. */
  | { kind: 'ignored' }
  | { kind: 'no-link' }
  | { kind: 'empty' }
  /** The thread's repos were unlinked (or are no longer allowed) since it began. */
  | { kind: 'links-gone'; repos: string[] }
  /** `budget=`, `model=` or `effort=` in the mention broke a rule: nothing started, the problems say why. */
  | { kind: 'options-refused'; problems: string[] }
  | { kind: 'started'; followUp: boolean }
  /** A run is going on in the thread: the message reaches the model at its next step. */
  | { kind: 'queued' };

export interface IntakeDeps {
  links: LinkStore;
  threads: ThreadStore;
  ledger: EventLedger;
  coordinator: RunEngine;
  access: AccessPolicy;
  /** The app's own organisation. */
  appTeam: () => string | undefined;
  /** Reads `budget=`, `model=`, `effort=` in mentions; without it they stay part of the task. */
  runOptions?: MentionOptionRules;
}

/**
 * Decides what a message for the bot means: claimed once (Slack delivers a mention twice and
 * retries slow deliveries), checked against who may run, then a new run, a follow-up, a message
 * queued for the run in progress, or a refusal. `announce` posts the run's first reply; it goes out
 * before the run starts, so it is always the thread's first.
 */
export async function acceptMessage(
  deps: IntakeDeps,
  message: IncomingMessage,
  announce: (announcement: RunAnnouncement) => Promise<unknown>,
): Promise<IntakeDecision> {
  if (!(await deps.ledger.claimMessage(message.channel, message.ts))) return { kind: 'duplicate' };
  if (deps.access.isOutsider(message.team, deps.appTeam())) return { kind: 'outsider' };
  if (!deps.access.mayRun(message.user)) return { kind: 'not-allowed' };
  let text = message.text;
  let chosenSettings: ReturnType<typeof storedOptions>;
  if (message.mention && deps.runOptions) {
    const parsed = await readMentionOptions(deps.runOptions, message.channel, message.user, message.text);
    if (parsed.problems.length > 0) return { kind: 'options-refused', problems: parsed.problems };
    text = parsed.task;
    chosenSettings = storedOptions(parsed.options);
  }
  const settingsOf = async (thread: ReturnType<typeof storedOptions>) =>
    deps.runOptions ? { settings: await deps.runOptions.resolve(message.channel, thread) } : {};
  const queued = { user: message.user, text, ts: message.ts };
  const existing = await deps.threads.get(message.channel, message.threadTs);
  if (existing) {
    const links = await deps.links.list(message.channel);
    const gone = existing.repos.filter((r) => !isLinked(links, r.repo) || !deps.access.repoAllowed(r.repo));
    if (gone.length > 0) return { kind: 'links-gone', repos: gone.map((r) => r.repo) };
    let threadSettings = existing.settings;
    if (chosenSettings) {
      // A follow-up mention's options hold for this thread's runs from now on.
      const updated = await deps.threads.update(message.channel, message.threadTs, (s) => ({
        ...s,
        settings: { ...s.settings, ...chosenSettings },
      }));
      threadSettings = updated?.settings ?? threadSettings;
    }
    const result = await deps.coordinator.submit(message.channel, message.threadTs, queued, undefined, async () =>
      announce({
        repos: existing.repos.map((r) => r.repo),
        branch: existing.repos[0]?.branch,
        followUp: true,
        ...(await settingsOf(threadSettings)),
      }),
    );
    if (result === 'unknown-thread') return { kind: 'ignored' };
    return result === 'queued' ? { kind: 'queued' } : { kind: 'started', followUp: true };
  }
  if (!message.mention) return { kind: 'ignored' };
  const linked = await deps.links.list(message.channel);
  if (linked.length === 0) return { kind: 'no-link' };
  const links = linked.filter((l) => deps.access.repoAllowed(l.repo));
  if (links.length === 0) return { kind: 'repos-not-allowed', repos: linked.map((l) => l.repo) };
  if (text.trim() === '') return { kind: 'empty' };
  const chosen = pickRepos(links, text);
  const branch = branchName(text);
  // The thread exists before its first reply, so a reply typed at once is a follow-up.
  await deps.coordinator.submit(
    message.channel,
    message.threadTs,
    queued,
    {
      startedBy: message.user,
      repos: chosen.map((l) => ({
        repo: l.repo,
        baseBranch: l.defaultBranch,
        branch,
        private: l.private,
        ...(l.setup ? { setup: l.setup } : {}),
        ...(l.template ? { template: l.template } : {}),
      })),
      ...(chosenSettings ? { settings: chosenSettings } : {}),
    },
    async () =>
      announce({
        repos: chosen.map((l) => l.repo),
        branch: chosen.length === 1 ? chosen[0]?.defaultBranch : undefined,
        followUp: false,
        ...(await settingsOf(chosenSettings)),
      }),
  );
  return { kind: 'started', followUp: false };
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

function isLinked(links: ChannelLink[], repo: string): boolean {
  return links.some((l) => l.repo.toLowerCase() === repo.toLowerCase());
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
