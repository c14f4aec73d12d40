import type { ActiveThread, LiveSandboxView } from '../runs/channel-overview.js';
import type { ChannelLink } from '../store/link-store.js';

export function helpText(): string {
  return [
    '*/ai-dev* is an AI developer for this channel’s GitHub repos.',
    '• `/ai-dev link owner/repo`: link a repo to this channel (a GitHub URL works too); `--setup "npm ci"` runs set-up commands in each new sandbox, `--template NAME` picks its E2B template',
    '• `/ai-dev unlink owner/repo`: remove a link',
    '• `/ai-dev list`: show the linked repos and active threads',
    '• `/ai-dev config`: this channel’s run defaults; `/ai-dev config budget 5` (dollars per run), `config model …`, `config effort low|medium|high`',
    '• `/ai-dev help`: this text',
    'Then mention me with a task, e.g. `@ai-dev fix the failing date test`; add `budget=$3`, `model=…` or `effort=high` to the mention for one run. I work in a sandbox, post each step in the thread and finish with a pull request. Reply in the thread to follow up.',
  ].join('\n');
}

export function linkedText(link: ChannelLink, userId: string, refreshed: boolean): string {
  const verb = refreshed ? 'refreshed the link to' : 'linked';
  const setup = link.setup
    ? `Each new sandbox runs \`${link.setup}\` first.`
    : 'Each new sandbox runs `.ai-dev/setup.sh` first when the base branch has one (or link with `--setup "npm ci"`).';
  const template = link.template ? ` Sandboxes start from the E2B template \`${link.template}\`.` : '';
  return `<@${userId}> ${verb} *${link.repo}* (default branch \`${link.defaultBranch}\`) to this channel. ${setup}${template} Mention me with a task to start.`;
}

export function unlinkedText(repo: string, userId: string): string {
  return `<@${userId}> unlinked *${repo}* from this channel.`;
}

export function notLinkedText(repo: string): string {
  return `*${repo}* is not linked to this channel. \`/ai-dev list\` shows what is.`;
}

const THREAD_STATE: Record<ActiveThread['status'], string> = {
  running: 'working',
  'budget-reached': 'paused (budget reached)',
  interrupted: 'interrupted (Retry to go on)',
  'awaiting-approval': 'waiting for an approval to publish',
};

export function listText(links: ChannelLink[], threads: ActiveThread[], sandboxes: LiveSandboxView[] = []): string {
  if (links.length === 0) {
    return 'No repos are linked to this channel yet. Link one with `/ai-dev link owner/repo`.';
  }
  const lines = ['Repos linked to this channel:'];
  for (const link of links) {
    lines.push(
      `• *${link.repo}* @ \`${link.defaultBranch}\`${link.private ? ' (private)' : ''}, linked by <@${link.linkedBy}>${link.setup ? `, set-up \`${link.setup}\`` : ''}${link.template ? `, template \`${link.template}\`` : ''}`,
    );
  }
  if (threads.length > 0) {
    lines.push('Active threads:');
    for (const thread of threads) {
      const where = thread.permalink ? `<${thread.permalink}|thread>` : 'a thread';
      lines.push(`• ${where} on ${thread.repos.join(', ')}: ${THREAD_STATE[thread.status]}`);
    }
  }
  if (sandboxes.length > 0) {
    lines.push('Live sandboxes:');
    for (const s of sandboxes) {
      const idle = s.idleMinutes > 0 ? `, idle ${s.idleMinutes} min` : '';
      lines.push(`• \`${s.id}\` (${s.repo}): ${s.state}${idle}`);
    }
  }
  return lines.join('\n');
}

export function notAllowedToLinkText(): string {
  return 'Sorry, you are not on the list of people who may link or unlink repos here. Ask the bot’s operator (ALLOW_LINK_USERS).';
}

export function repoNotAllowedText(repo: string): string {
  return `Sorry, *${repo}* is not on the list of repos this bot may work on. Ask the bot’s operator (ALLOW_REPOS).`;
}

export function failureText(userMessage: string, reference: string): string {
  return `${userMessage} (reference ${reference})`;
}
