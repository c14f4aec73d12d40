import type { ContextBlock, HomeView, KnownBlock, SectionBlock } from '@slack/types';
import { formatDollars } from '../agent/cost.js';
import { formatDuration } from '../lib/duration.js';
import { escapeMrkdwn, link, SLACK_LIMITS, trimEnd } from './blocks.js';

/** A run in progress (or paused at a budget) in one of the user's channels. */
export interface HomeRun {
  repo: string;
  /** The task in a few words. */
  title?: string;
  /** Link to the thread. */
  permalink?: string;
  startedAt?: number;
  dollars?: number;
  paused?: boolean;
}

export interface HomeChannel {
  channelId: string;
  /** Linked repos the user may see. */
  repos: string[];
  activeRuns: HomeRun[];
  /** Dollars the channel's runs spent since the start of the week. */
  dollarsThisWeek: number;
}

export interface HomePullRequest {
  repo: string;
  number: number;
  title: string;
  url: string;
  channelId?: string;
  state?: 'open' | 'merged' | 'closed';
}

/** What the Home tab shows one user: plain data, gathered by the caller for what that user may see. */
export interface HomeData {
  channels: HomeChannel[];
  recentPullRequests: HomePullRequest[];
  /** Why the channel list may be short or empty (Slack would not say which channels the person is in …). */
  notice?: string;
  /** For the runs' elapsed time; default `Date.now()`. */
  now?: number;
}

/** Slack's limit for a Home tab view, and what we keep for the "more" lines. */
export const HOME_MAX_BLOCKS = 100;
const MAX_RUNS_PER_CHANNEL = 5;
const MAX_PULL_REQUESTS = 15;
const MAX_REPOS_SHOWN = 10;

const section = (text: string): SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: trimEnd(text, SLACK_LIMITS.sectionText) },
});
const context = (text: string): ContextBlock => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: trimEnd(text, SLACK_LIMITS.sectionText) }],
});

/** `<#C…>` for a channel id (Slack shows its name to those who may see it), escaped text otherwise. */
function channelRef(id: string): string {
  return /^[CGD][A-Z0-9]{2,}$/.test(id) ? `<#${id}>` : escapeMrkdwn(id);
}

function repoList(repos: readonly string[]): string {
  if (repos.length === 0) return '_no linked repo you can see_';
  const shown = repos.slice(0, MAX_REPOS_SHOWN).map((r) => `\`${escapeMrkdwn(r).replaceAll('`', "'")}\``);
  const more = repos.length > MAX_REPOS_SHOWN ? ` and ${repos.length - MAX_REPOS_SHOWN} more` : '';
  return `${shown.join(', ')}${more}`;
}

function runLine(run: HomeRun, now: number): string {
  const label = trimEnd(`${run.repo}${run.title ? `: ${run.title.replace(/\s+/g, ' ').trim()}` : ''}`, 150);
  const what = run.permalink ? link(run.permalink, label) : escapeMrkdwn(label);
  const facts: string[] = [run.paused ? 'paused at its budget' : 'running'];
  if (run.startedAt !== undefined) facts.push(formatDuration(Math.max(0, now - run.startedAt)));
  if (run.dollars !== undefined) facts.push(formatDollars(run.dollars));
  return `• ${what} — ${facts.join(', ')}`;
}

function pullRequestLine(pr: HomePullRequest): string {
  const state = pr.state && pr.state !== 'open' ? ` (${pr.state})` : '';
  const where = pr.channelId ? ` · ${channelRef(pr.channelId)}` : '';
  const title = escapeMrkdwn(trimEnd(pr.title.replace(/\s+/g, ' ').trim(), 150));
  return `• ${link(pr.url, `${pr.repo}#${pr.number}`)} ${title}${state}${where}`;
}

/**
 * The Home tab: the user's channels with their linked repos, active runs (linked to their threads) and dollars spent
 * this week, then recent pull requests; within Slack's 100 blocks and 3 000 characters per section.
 */
export function homeView(data: HomeData): HomeView {
  const now = data.now ?? Date.now();
  const total = data.channels.reduce((sum, c) => sum + c.dollarsThisWeek, 0);
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: 'ai-dev', emoji: true } },
    context(
      data.channels.length > 0
        ? `Your channels linked to GitHub repos, their runs and what they cost · *${formatDollars(total)}* this week`
        : 'Your channels linked to GitHub repos, their runs and what they cost',
    ),
  ];
  if (data.notice) blocks.push(context(`:warning: ${escapeMrkdwn(data.notice)}`));

  // Room kept for the pull requests (divider, header, one section) and a "more channels" line.
  const channelRoom = HOME_MAX_BLOCKS - blocks.length - 4;
  if (data.channels.length === 0) {
    blocks.push(
      section(
        'No linked channel you can see yet. Invite me to a channel (`/invite @ai-dev`), link a repo with ' +
          '`/ai-dev link owner/repo`, then mention me with a coding task.',
      ),
    );
  }
  let used = 0;
  let shownChannels = 0;
  for (const channel of data.channels) {
    const runs = channel.activeRuns.slice(0, MAX_RUNS_PER_CHANNEL).map((run) => runLine(run, now));
    if (channel.activeRuns.length > MAX_RUNS_PER_CHANNEL) {
      runs.push(`• and ${channel.activeRuns.length - MAX_RUNS_PER_CHANNEL} more`);
    }
    const needed = 1 + (runs.length > 0 ? 1 : 0);
    if (used + needed > channelRoom - 1) break;
    const runsText = runs.length > 0 ? '' : '\n_No run in progress._';
    blocks.push(
      section(
        `*${channelRef(channel.channelId)}* · ${formatDollars(channel.dollarsThisWeek)} this week\n${repoList(channel.repos)}${runsText}`,
      ),
    );
    if (runs.length > 0) blocks.push(section(runs.join('\n')));
    used += needed;
    shownChannels += 1;
  }
  if (shownChannels < data.channels.length) {
    blocks.push(context(`and ${data.channels.length - shownChannels} more channels`));
  }

  blocks.push({ type: 'divider' });
  blocks.push({ type: 'header', text: { type: 'plain_text', text: 'Recent pull requests', emoji: true } });
  if (data.recentPullRequests.length === 0) {
    blocks.push(context('No pull request yet.'));
  } else {
    const lines: string[] = [];
    let length = 0;
    for (const pr of data.recentPullRequests.slice(0, MAX_PULL_REQUESTS)) {
      const line = pullRequestLine(pr);
      if (length + line.length + 1 > SLACK_LIMITS.sectionText) break;
      lines.push(line);
      length += line.length + 1;
    }
    blocks.push(section(lines.join('\n')));
  }
  return { type: 'home', callback_id: 'ai_dev_home', blocks };
}
