import type { Octokit } from '@octokit/rest';
import { type BotIdentity, isBotLogin, mentionsBot } from './bot-identity.js';
import { githubRequest } from './github-errors.js';
import { requestOptions } from './octokit.js';
import { fullName, type RepoRef } from './repo-ref.js';

/**
 * What reviewers asked of the bot's pull request, as follow-ups for the thread's run: each submitted
 * review with its inline comments (a batched review is one follow-up; GitHub files a single comment or
 * a reply in a thread as a review of its own, so those are follow-ups of one comment), and each PR
 * comment that mentions the bot. Only people with write access count; the bot's own words and other
 * bots' never do.
 */

/** One inline comment on the diff. */
export interface ReviewComment {
  id: number;
  /** The thread's first comment (itself unless this is a reply): replies go to it. */
  threadId: number;
  path: string;
  /** The (last) line commented on; null for a comment on the whole file. */
  line: number | null;
  startLine: number | null;
  side: 'LEFT' | 'RIGHT' | undefined;
  body: string;
  url: string;
  /** The last lines of the diff hunk the comment sits on. */
  context: string;
  /** For a reply: who began the thread and what they wrote. */
  replyTo?: { author: string; body: string };
}

export type FollowUp =
  | {
      kind: 'review';
      /** `review:<id>`: store it once handled, so a repeat (webhook and poll, a restart) is skipped. */
      key: string;
      reviewId: number;
      author: string;
      association: string;
      /** APPROVED, CHANGES_REQUESTED or COMMENTED. */
      state: string;
      body: string;
      url: string;
      /** ISO 8601. */
      at: string;
      comments: ReviewComment[];
    }
  | {
      kind: 'pr-comment';
      /** `comment:<id>`. */
      key: string;
      commentId: number;
      author: string;
      association: string;
      body: string;
      url: string;
      at: string;
    };

export type IgnoredReason = 'bot' | 'no-write-access' | 'no-mention' | 'nothing-asked';

export interface CollectOptions {
  pr: number;
  bot: BotIdentity;
  /** Only what was submitted or created at or after this instant (e.g. the thread's first publish). */
  since?: string | Date;
  /** Keys of follow-ups already handled. */
  handled?: ReadonlySet<string>;
  /**
   * `association` (default): OWNER, MEMBER and COLLABORATOR count without asking, anyone else is looked up.
   * `permission`: everyone but OWNER is looked up, since MEMBER (any member of the owning organisation) and
   * COLLABORATOR (also read-only outside collaborators) do not by themselves mean write access.
   */
  trust?: 'association' | 'permission';
  signal?: AbortSignal;
}

export interface Collected {
  /** Oldest first. */
  followUps: FollowUp[];
  /** What was left out and why (for logs: someone without access is ignored silently). */
  ignored: Array<{ key: string; author: string; reason: IgnoredReason }>;
}

const TRUSTED_ASSOCIATIONS = new Set(['OWNER', 'MEMBER', 'COLLABORATOR']);
const WRITE_PERMISSIONS = new Set(['admin', 'maintain', 'write']);
const CONTEXT_LINES = 3;

interface UserJson {
  login: string;
  type?: string;
}

interface ReviewJson {
  id: number | bigint;
  user: UserJson | null;
  body: string | null;
  state: string;
  html_url: string;
  submitted_at?: string | null;
  author_association: string;
}

interface ReviewCommentJson {
  id: number | bigint;
  pull_request_review_id: number | bigint | null;
  in_reply_to_id?: number | bigint;
  user: UserJson | null;
  body: string;
  path: string;
  line?: number | null;
  start_line?: number | null;
  side?: 'LEFT' | 'RIGHT';
  diff_hunk: string;
  html_url: string;
  created_at: string;
  author_association: string;
}

interface IssueCommentJson {
  id: number | bigint;
  user: UserJson | null;
  body?: string | null;
  html_url: string;
  created_at: string;
  author_association: string;
}

/** Who may ask the bot for changes: write access, looked up once per login (`…/collaborators/{user}/permission`). */
export class WriteAccess {
  private readonly known = new Map<string, Promise<boolean>>();

  constructor(
    private readonly octokit: Octokit,
    private readonly repo: RepoRef,
    private readonly trust: 'association' | 'permission' = 'association',
    private readonly signal?: AbortSignal,
  ) {}

  async has(login: string, association: string): Promise<boolean> {
    if (association === 'OWNER') return true;
    if (this.trust === 'association' && TRUSTED_ASSOCIATIONS.has(association)) return true;
    const key = login.toLowerCase();
    let answer = this.known.get(key);
    if (!answer) {
      answer = this.lookUp(login);
      this.known.set(key, answer);
    }
    return answer;
  }

  private async lookUp(login: string): Promise<boolean> {
    const data = await githubRequest(
      `look up ${login}’s permission on ${fullName(this.repo)}`,
      async () =>
        (
          await this.octokit.rest.repos.getCollaboratorPermissionLevel({
            owner: this.repo.owner,
            repo: this.repo.name,
            username: login,
            ...requestOptions(this.signal),
          })
        ).data,
      { signal: this.signal, notFound: () => undefined },
    );
    if (!data) return false;
    // `permission` is the legacy level (maintain shows as write); `role_name` the role itself.
    const role = (data as { role_name?: string }).role_name;
    return WRITE_PERMISSIONS.has(data.permission) || (role !== undefined && WRITE_PERMISSIONS.has(role));
  }
}

/**
 * Everything reviewers asked on PR `pr` since `since` that is not `handled` yet, from people with write
 * access, never the bot's own (reads the reviews, all review comments and the PR's conversation).
 */
export async function collectFollowUps(octokit: Octokit, repo: RepoRef, options: CollectOptions): Promise<Collected> {
  const { pr, bot, signal } = options;
  // GitHub's timestamps have whole seconds: a review in the same second as `since` counts.
  const since = options.since === undefined ? undefined : Math.floor(new Date(options.since).getTime() / 1000) * 1000;
  const isNew = (at: string | null | undefined) => since === undefined || (at ? Date.parse(at) >= since : false);
  const handled = options.handled ?? new Set<string>();
  const target = { owner: repo.owner, repo: repo.name, pull_number: pr, per_page: 100, ...requestOptions(signal) };
  const doing = `read the reviews of pull request #${pr} in ${fullName(repo)}`;
  const [reviews, comments, conversation] = await githubRequest(
    doing,
    () =>
      Promise.all([
        octokit.paginate(octokit.rest.pulls.listReviews, target) as Promise<ReviewJson[]>,
        octokit.paginate(octokit.rest.pulls.listReviewComments, target) as Promise<ReviewCommentJson[]>,
        octokit.paginate(octokit.rest.issues.listComments, {
          owner: repo.owner,
          repo: repo.name,
          issue_number: pr,
          per_page: 100,
          ...(since === undefined ? {} : { since: new Date(since).toISOString() }),
          ...requestOptions(signal),
        }) as Promise<IssueCommentJson[]>,
      ]),
    { signal },
  );
  const access = new WriteAccess(octokit, repo, options.trust ?? 'association', signal);
  const followUps: FollowUp[] = [];
  const ignored: Collected['ignored'] = [];
  const byId = new Map(comments.map((comment) => [Number(comment.id), comment]));

  const isBot = (author: UserJson | null) =>
    author !== null && (isBotLogin(bot, author.login) || author.type === 'Bot');
  /** Why an author does not count, if they do not. */
  const refusal = async (author: UserJson | null, association: string): Promise<IgnoredReason | undefined> => {
    if (!author) return 'no-write-access'; // a deleted account
    if (isBot(author)) return 'bot';
    return (await access.has(author.login, association)) ? undefined : 'no-write-access';
  };

  // Reviews, with the comments filed under each; comments whose review is not listed stand for one.
  const groups = new Map<number, { review?: ReviewJson; comments: ReviewCommentJson[] }>();
  for (const review of reviews) {
    if (review.state === 'PENDING' || !isNew(review.submitted_at)) continue;
    groups.set(Number(review.id), { review, comments: [] });
  }
  for (const comment of comments) {
    if (comment.pull_request_review_id === null || !isNew(comment.created_at)) continue;
    const reviewId = Number(comment.pull_request_review_id);
    const group = groups.get(reviewId) ?? { comments: [] };
    group.comments.push(comment);
    groups.set(reviewId, group);
  }
  for (const [reviewId, { review, comments: own }] of groups) {
    const key = `review:${reviewId}`;
    if (handled.has(key)) continue;
    const first = own[0];
    const author = review?.user ?? first?.user ?? null;
    const association = review?.author_association ?? first?.author_association ?? 'NONE';
    const login = author?.login ?? 'ghost';
    const body = (review?.body ?? '').trim();
    const state = review?.state ?? 'COMMENTED';
    if (own.length === 0 && body === '' && state !== 'CHANGES_REQUESTED') {
      ignored.push({ key, author: login, reason: 'nothing-asked' });
      continue;
    }
    const why = await refusal(author, association);
    if (why) {
      ignored.push({ key, author: login, reason: why });
      continue;
    }
    followUps.push({
      kind: 'review',
      key,
      reviewId,
      author: login,
      association,
      state,
      body,
      url: review?.html_url ?? first?.html_url ?? '',
      at: review?.submitted_at ?? first?.created_at ?? '',
      comments: own.sort((a, b) => Number(a.id) - Number(b.id)).map((comment) => reviewComment(comment, byId)),
    });
  }

  for (const comment of conversation) {
    if (!isNew(comment.created_at)) continue;
    const key = `comment:${comment.id}`;
    if (handled.has(key)) continue;
    const login = comment.user?.login ?? 'ghost';
    const body = (comment.body ?? '').trim();
    // The cheap checks first: a comment that does not mention the bot costs no permission lookup.
    if (isBot(comment.user)) {
      ignored.push({ key, author: login, reason: 'bot' });
      continue;
    }
    if (!mentionsBot(bot, body)) {
      ignored.push({ key, author: login, reason: 'no-mention' });
      continue;
    }
    const why = await refusal(comment.user, comment.author_association);
    if (why) {
      ignored.push({ key, author: login, reason: why });
      continue;
    }
    followUps.push({
      kind: 'pr-comment',
      key,
      commentId: Number(comment.id),
      author: login,
      association: comment.author_association,
      body,
      url: comment.html_url,
      at: comment.created_at,
    });
  }

  followUps.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return { followUps, ignored };
}

function reviewComment(comment: ReviewCommentJson, byId: Map<number, ReviewCommentJson>): ReviewComment {
  const id = Number(comment.id);
  const threadId = comment.in_reply_to_id === undefined ? id : Number(comment.in_reply_to_id);
  const result: ReviewComment = {
    id,
    threadId,
    path: comment.path,
    line: comment.line ?? null,
    startLine: comment.start_line ?? null,
    side: comment.side,
    body: comment.body.trim(),
    url: comment.html_url,
    context: comment.diff_hunk.split('\n').slice(1).slice(-CONTEXT_LINES).join('\n'),
  };
  const root = threadId === id ? undefined : byId.get(threadId);
  if (root) result.replyTo = { author: root.user?.login ?? 'ghost', body: root.body.trim() };
  return result;
}

// ---- words for the model -------------------------------------------------------------------------

const STATE_WORDS: Record<string, string> = {
  APPROVED: 'approved',
  CHANGES_REQUESTED: 'requested changes',
  COMMENTED: 'commented',
};

/**
 * A follow-up as plain text for the model: who asked, what, and where (file and line, with the diff
 * lines the comment sits on). Line numbers are those of the commit the reviewer saw.
 */
export function renderFollowUp(followUp: FollowUp, pr: number): string {
  if (followUp.kind === 'pr-comment') {
    return `@${followUp.author} commented on pull request #${pr}:\n${followUp.body}`;
  }
  const lines: string[] = [];
  const what = STATE_WORDS[followUp.state] ?? followUp.state.toLowerCase();
  if (followUp.comments.length === 0) {
    lines.push(`@${followUp.author} reviewed pull request #${pr} (${what}):`, followUp.body);
    return lines.join('\n');
  }
  const single = followUp.comments.length === 1 && followUp.body === '';
  lines.push(
    single
      ? `@${followUp.author} commented on pull request #${pr}:`
      : `@${followUp.author} reviewed pull request #${pr} (${what}) with ${followUp.comments.length} comment${followUp.comments.length === 1 ? '' : 's'}:`,
  );
  if (followUp.body) lines.push(followUp.body);
  followUp.comments.forEach((comment, index) => {
    const prefix = single ? '' : `${index + 1}. `;
    lines.push('', `${prefix}${where(comment)}:`);
    if (comment.replyTo) {
      lines.push(`   (a reply in the thread @${comment.replyTo.author} began with: ${oneLine(comment.replyTo.body)})`);
    }
    if (comment.context) lines.push('   on the diff lines:', ...comment.context.split('\n').map((l) => `   | ${l}`));
    lines.push(...comment.body.split('\n').map((l) => `   ${l}`));
  });
  return lines.join('\n');
}

function where(comment: ReviewComment): string {
  const side = comment.side === 'LEFT' ? ' (the old version)' : '';
  if (comment.line === null) return `${comment.path} (the whole file)`;
  if (comment.startLine !== null && comment.startLine !== comment.line) {
    return `${comment.path} lines ${comment.startLine}–${comment.line}${side}`;
  }
  return `${comment.path} line ${comment.line}${side}`;
}

function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

// ---- replies on the PR ---------------------------------------------------------------------------

/** GitHub refuses a comment body over 65 536 characters. */
const MAX_COMMENT_CHARS = 65_000;

export interface ReplyRequest {
  to: FollowUp;
  /** What the bot changed for it (Markdown). */
  text: string;
  /** A more precise answer for single inline comments, by comment id; the others get `text`. */
  perComment?: Record<number, string>;
}

export interface PostedReply {
  /** `reply:<comment id>` or `comment:<follow-up key>`: keep them, and pass them back as `alreadyPosted` after a retry. */
  key: string;
  url: string;
  commentId: number;
}

/**
 * Answers each follow-up on the PR: a reply in the thread of each inline comment (GitHub takes replies
 * only on a thread's first comment), and for a review with words of its own or a PR comment, one PR
 * comment to its author. Keys in `alreadyPosted` are skipped, so a retry after a failure does not repeat.
 */
export async function postReplies(
  octokit: Octokit,
  repo: RepoRef,
  pr: number,
  replies: ReplyRequest[],
  options: { alreadyPosted?: ReadonlySet<string>; signal?: AbortSignal } = {},
): Promise<PostedReply[]> {
  const { signal } = options;
  const done = new Set(options.alreadyPosted ?? []);
  const posted: PostedReply[] = [];
  const target = { owner: repo.owner, repo: repo.name };
  for (const { to, text, perComment } of replies) {
    if (to.kind === 'review') {
      for (const comment of to.comments) {
        const key = `reply:${comment.id}`;
        if (done.has(key)) continue;
        const body = capped(perComment?.[comment.id] ?? text);
        const reply = await githubRequest(
          `reply to review comment ${comment.id} on pull request #${pr}`,
          async () =>
            (
              await octokit.rest.pulls.createReplyForReviewComment({
                ...target,
                pull_number: pr,
                comment_id: comment.threadId,
                body,
                ...requestOptions(signal),
              })
            ).data,
          // The thread was deleted meanwhile: nothing to answer there.
          { signal, notFound: () => undefined },
        );
        done.add(key);
        if (reply) posted.push({ key, url: reply.html_url, commentId: Number(reply.id) });
      }
      if (to.comments.length > 0 && to.body === '') continue;
    }
    const key = `comment:${to.key}`;
    if (done.has(key)) continue;
    // A link, not a quote: quoting would notify everyone the comment mentions once more.
    const what = to.kind === 'pr-comment' ? 'your comment' : 'your review';
    const body = capped(`@${to.author} — about [${what}](${to.url}):\n\n${text}`);
    const { data } = await githubRequest(
      `comment on pull request #${pr}`,
      () => octokit.rest.issues.createComment({ ...target, issue_number: pr, body, ...requestOptions(signal) }),
      { signal },
    );
    done.add(key);
    posted.push({ key, url: data.html_url, commentId: Number(data.id) });
  }
  return posted;
}

function capped(text: string): string {
  return text.length > MAX_COMMENT_CHARS ? `${text.slice(0, MAX_COMMENT_CHARS)}\n\n… (cut)` : text;
}
