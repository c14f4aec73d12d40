/**
 * Webhook deliveries the way GitHub sends them, and payloads built from the fake's own state.
 *
 * Headers (GitHub docs, "Webhook events and payloads" → Delivery headers): `X-GitHub-Event`,
 * `X-GitHub-Delivery` (a GUID), `X-GitHub-Hook-ID`, `X-GitHub-Hook-Installation-Target-Type`/`-ID`,
 * `X-Hub-Signature` (HMAC-SHA1) and `X-Hub-Signature-256` (`sha256=` + hex HMAC-SHA256 of the raw
 * body) when a secret is set, `User-Agent: GitHub-Hookshot/<7 hex>`, `Content-Type: application/json`.
 * Payload shapes follow GitHub's OpenAPI webhook schemas (`@octokit/openapi-types`), which these
 * builders are type-checked against.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { components } from '@octokit/openapi-types';
import { listRefs, readCommit, resolveRef } from './git.js';
import { checkRunJson, checkSuiteJson, statusJson } from './rest-checks.js';
import { associationOf, issueCommentJson, reviewCommentJson, reviewJson, userRef } from './rest-reviews.js';
import { type FakeState, fullName, type RepoRecord, type UserRef } from './state.js';
import type { FakePull, FakeUserRef } from './types.js';

type Schemas = components['schemas'];

export interface WebhookDelivery {
  /** `X-GitHub-Event`, e.g. `check_run`. */
  event: string;
  payload: unknown;
  /** The webhook secret; without it GitHub sends no signature headers. */
  secret?: string;
  /** `X-GitHub-Delivery`. Default: a fresh GUID. */
  deliveryId?: string;
  /** `X-GitHub-Hook-ID`. Default 1. */
  hookId?: number;
  /**
   * `X-GitHub-Hook-Installation-Target-Type`/`-ID`. The builders set `integration` and the App id for an
   * App's webhook (unverified spelling); the default is `repository` and the payload repository's id.
   */
  target?: { type: string; id: number | string };
}

export interface WebhookResult {
  status: number;
  body: string;
  headers: Headers;
  deliveryId: string;
  /** The exact bytes that were signed and sent. */
  rawBody: string;
}

/** `sha256=<hex>`: GitHub's `X-Hub-Signature-256` for `body`. */
export function webhookSignature256(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const HOOKSHOT = `GitHub-Hookshot/${randomBytes(4).toString('hex').slice(0, 7)}`;

/** POSTs a webhook delivery to `url` like GitHub does; resolves with the receiver's answer. */
export async function deliverWebhook(url: string, delivery: WebhookDelivery): Promise<WebhookResult> {
  const rawBody = JSON.stringify(delivery.payload);
  const deliveryId = delivery.deliveryId ?? randomUUID();
  const payload = (delivery.payload ?? {}) as { repository?: { id?: unknown } };
  const target = delivery.target ?? { type: 'repository', id: String(payload.repository?.id ?? '') };
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': HOOKSHOT,
    'x-github-event': delivery.event,
    'x-github-delivery': deliveryId,
    'x-github-hook-id': String(delivery.hookId ?? 1),
    'x-github-hook-installation-target-type': target.type,
    'x-github-hook-installation-target-id': String(target.id),
  };
  if (delivery.secret !== undefined) {
    headers['x-hub-signature'] = `sha1=${createHmac('sha1', delivery.secret).update(rawBody).digest('hex')}`;
    headers['x-hub-signature-256'] = webhookSignature256(rawBody, delivery.secret);
  }
  const response = await fetch(url, { method: 'POST', headers, body: rawBody });
  return { status: response.status, body: await response.text(), headers: response.headers, deliveryId, rawBody };
}

export interface BuiltWebhook<P> {
  event: string;
  payload: P;
  /** Who the webhook belongs to: the App (`integration`) when it is installed on the owner, else the repo. */
  target: { type: string; id: number | string };
}

export interface WebhookOptions {
  /** Who caused the event. Default: the check's App bot, the status creator, the reviewer or commenter. */
  sender?: FakeUserRef;
}

/** Builds realistic payloads from the fake's repos, PRs, check runs, statuses, reviews and comments. */
export class WebhookBuilders {
  constructor(private readonly state: FakeState) {}

  private repo(owner: string, name: string): RepoRecord {
    return this.state.requireRepo(owner, name);
  }

  /** `repository`, `sender`, `organization` and (for an installed App) `installation`. */
  private common(repo: RepoRecord, sender: UserRef) {
    const state = this.state;
    const installationId = state.app ? state.installationFor(repo.owner) : undefined;
    const org = state.userJson(repo.owner, 'Organization');
    const orgApi = `${state.serverUrl}/api/v3/orgs/${repo.owner}`;
    const organization: Schemas['organization-simple-webhooks'] = {
      login: org.login,
      id: org.id,
      node_id: org.node_id,
      url: orgApi,
      repos_url: `${orgApi}/repos`,
      events_url: `${orgApi}/events`,
      hooks_url: `${orgApi}/hooks`,
      issues_url: `${orgApi}/issues`,
      members_url: `${orgApi}/members{/member}`,
      public_members_url: `${orgApi}/public_members{/member}`,
      avatar_url: org.avatar_url,
      description: null,
    };
    const repository: Schemas['repository-webhooks'] = state.repoJson(repo);
    const common: {
      repository: Schemas['repository-webhooks'];
      sender: Schemas['simple-user'];
      organization: Schemas['organization-simple-webhooks'];
      installation?: Schemas['simple-installation'];
    } = { repository, sender: state.userJson(sender.login, sender.type), organization };
    if (installationId !== undefined) {
      common.installation = {
        id: installationId,
        node_id: Buffer.from(`Installation${installationId}`).toString('base64'),
      };
    }
    return common;
  }

  private target(repo: RepoRecord): BuiltWebhook<unknown>['target'] {
    const app = this.state.app;
    return app && this.state.installationFor(repo.owner) !== undefined
      ? { type: 'integration', id: app.id }
      : { type: 'repository', id: repo.id };
  }

  private pull(repo: RepoRecord, number: number): FakePull {
    const pull = repo.pulls.find((candidate) => candidate.number === number);
    if (!pull) throw new Error(`no pull request #${number} in ${fullName(repo)}`);
    return pull;
  }

  /** `check_run` (default action `completed`) for a check run the fake knows. */
  async checkRun(
    owner: string,
    name: string,
    checkRunId: number,
    options: WebhookOptions & { action?: 'completed' | 'created' | 'rerequested' } = {},
  ): Promise<
    BuiltWebhook<
      | Schemas['webhook-check-run-completed']
      | Schemas['webhook-check-run-created']
      | Schemas['webhook-check-run-rerequested']
    >
  > {
    const repo = this.repo(owner, name);
    const run = repo.checkRuns.find((candidate) => candidate.id === checkRunId);
    if (!run) throw new Error(`no check run ${checkRunId} in ${fullName(repo)}`);
    const suite = repo.checkSuites.find((candidate) => candidate.id === run.suiteId);
    const json = await checkRunJson(this.state, repo, run);
    const suiteJson = suite ? await checkSuiteJson(this.state, repo, suite) : undefined;
    const integration = json.app;
    const check_run: Schemas['check-run-with-simple-check-suite'] = {
      ...json,
      details_url: json.details_url ?? json.html_url,
      status: json.status === 'waiting' || json.status === 'requested' ? 'queued' : json.status,
      app: integration,
      check_suite: {
        id: run.suiteId,
        node_id: suiteJson?.node_id,
        head_branch: suiteJson?.head_branch ?? null,
        head_sha: run.headSha,
        status: suiteJson?.status,
        conclusion: suiteJson?.conclusion,
        url: suiteJson?.url ?? undefined,
        before: suiteJson?.before ?? null,
        after: suiteJson?.after ?? null,
        pull_requests: json.pull_requests,
        app: integration,
        repository: this.state.repoJson(repo),
        created_at: suiteJson?.created_at,
        updated_at: suiteJson?.updated_at,
      },
    };
    const sender = userRef(options.sender ?? `${run.app.slug}[bot]`);
    return {
      event: 'check_run',
      target: this.target(repo),
      payload: { action: options.action ?? 'completed', check_run, ...this.common(repo, sender) },
    };
  }

  /** `check_suite` (default action `completed`). */
  async checkSuite(
    owner: string,
    name: string,
    suiteId: number,
    options: WebhookOptions & { action?: 'completed' } = {},
  ): Promise<BuiltWebhook<Schemas['webhook-check-suite-completed']>> {
    const repo = this.repo(owner, name);
    const suite = repo.checkSuites.find((candidate) => candidate.id === suiteId);
    if (!suite) throw new Error(`no check suite ${suiteId} in ${fullName(repo)}`);
    const json = await checkSuiteJson(this.state, repo, suite);
    type SuiteApp = Schemas['webhook-check-suite-completed']['check_suite']['app'];
    const check_suite = {
      ...json,
      // The webhook schema lists the event names an App may subscribe to; ours are plain strings.
      app: { ...json.app, events: json.app.events as SuiteApp['events'] },
      head_commit: {
        ...json.head_commit,
        author: json.head_commit.author ?? { name: '', email: '' },
        committer: json.head_commit.committer ?? { name: '', email: '' },
      },
      pull_requests: json.pull_requests,
    };
    const sender = userRef(options.sender ?? `${suite.app.slug}[bot]`);
    return {
      event: 'check_suite',
      target: this.target(repo),
      payload: { action: 'completed', check_suite, ...this.common(repo, sender) },
    };
  }

  /** `status` for a commit status the fake knows. */
  async status(
    owner: string,
    name: string,
    statusId: number,
    options: WebhookOptions = {},
  ): Promise<BuiltWebhook<Schemas['webhook-status']>> {
    const repo = this.repo(owner, name);
    const status = repo.statuses.find((candidate) => candidate.id === statusId);
    if (!status) throw new Error(`no status ${statusId} in ${fullName(repo)}`);
    const commit = await readCommit(repo.gitDir, status.sha);
    if (!commit) throw new Error(`status ${statusId} is on a missing commit`);
    const api = `${this.state.serverUrl}/api/v3/repos/${fullName(repo)}`;
    const html = `${this.state.serverUrl}/${fullName(repo)}`;
    const heads = await listRefs(repo.gitDir, 'refs/heads/');
    const branches = [...heads]
      .filter(([, head]) => head === status.sha)
      .map(([ref]) => ({
        name: ref.slice('refs/heads/'.length),
        commit: { sha: status.sha, url: `${api}/commits/${status.sha}` },
        protected: false,
      }));
    const json = statusJson(this.state, repo, status, false);
    const sender = userRef(options.sender ?? status.creator);
    return {
      event: 'status',
      target: this.target(repo),
      payload: {
        id: status.id,
        sha: status.sha,
        name: fullName(repo),
        target_url: status.targetUrl,
        avatar_url: String(json.avatar_url),
        context: status.context,
        description: status.description,
        state: status.state,
        commit: {
          sha: status.sha,
          node_id: Buffer.from(`Commit:${status.sha}`).toString('base64'),
          commit: {
            author: { name: commit.author.name, email: commit.author.email, date: commit.author.date },
            committer: { name: commit.committer.name, email: commit.committer.email, date: commit.committer.date },
            message: commit.message.replace(/\n$/, ''),
            tree: { sha: commit.tree, url: `${api}/git/trees/${commit.tree}` },
            url: `${api}/git/commits/${status.sha}`,
            comment_count: 0,
            verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
          },
          url: `${api}/commits/${status.sha}`,
          html_url: `${html}/commit/${status.sha}`,
          comments_url: `${api}/commits/${status.sha}/comments`,
          author: null,
          committer: null,
          parents: commit.parents.map((sha) => ({
            sha,
            url: `${api}/commits/${sha}`,
            html_url: `${html}/commit/${sha}`,
          })),
        },
        branches,
        created_at: status.createdAt,
        updated_at: status.createdAt,
        ...this.common(repo, sender),
      },
    };
  }

  /** `pull_request_review` (default action `submitted`; the review `state` is lower-case, as GitHub sends it). */
  async pullRequestReview(
    owner: string,
    name: string,
    reviewId: number,
    options: WebhookOptions & { action?: 'submitted' } = {},
  ): Promise<BuiltWebhook<Schemas['webhook-pull-request-review-submitted']>> {
    const repo = this.repo(owner, name);
    const review = repo.reviews.find((candidate) => candidate.id === reviewId);
    if (!review) throw new Error(`no review ${reviewId} in ${fullName(repo)}`);
    const json = reviewJson(this.state, repo, review);
    const pull_request = await this.pullRequestJson(repo, this.pull(repo, review.pullNumber));
    return {
      event: 'pull_request_review',
      target: this.target(repo),
      payload: {
        action: 'submitted',
        review: {
          ...json,
          state: review.state.toLowerCase(),
          submitted_at: json.submitted_at ?? null,
          user: json.user,
        },
        pull_request,
        ...this.common(repo, userRef(options.sender ?? review.user)),
      },
    };
  }

  /** `pull_request_review_comment` (default action `created`). */
  async pullRequestReviewComment(
    owner: string,
    name: string,
    commentId: number,
    options: WebhookOptions & { action?: 'created' } = {},
  ): Promise<BuiltWebhook<Schemas['webhook-pull-request-review-comment-created']>> {
    const repo = this.repo(owner, name);
    const comment = repo.reviewComments.find((candidate) => candidate.id === commentId);
    if (!comment) throw new Error(`no review comment ${commentId} in ${fullName(repo)}`);
    const json = reviewCommentJson(this.state, repo, comment);
    const pull_request = await this.pullRequestJson(repo, this.pull(repo, comment.pullNumber));
    return {
      event: 'pull_request_review_comment',
      target: this.target(repo),
      payload: {
        action: 'created',
        comment: json,
        pull_request,
        ...this.common(repo, userRef(options.sender ?? comment.user)),
      },
    };
  }

  /** `pull_request` as the PR stands now (default action `closed`: close or merge it in the fake first). */
  async pullRequest(
    owner: string,
    name: string,
    number: number,
    options: WebhookOptions & { action?: 'closed' | 'opened' | 'reopened' | 'synchronize' } = {},
  ): Promise<BuiltWebhook<Record<string, unknown>>> {
    const repo = this.repo(owner, name);
    const pull = this.pull(repo, number);
    const pull_request = { ...(await this.pullRequestJson(repo, pull)), merged: pull.merged };
    return {
      event: 'pull_request',
      target: this.target(repo),
      payload: {
        action: options.action ?? 'closed',
        number,
        pull_request,
        ...this.common(repo, userRef(options.sender ?? pull.user)),
      },
    };
  }

  /** `issue_comment` (default action `created`) on a PR's conversation. */
  async issueComment(
    owner: string,
    name: string,
    commentId: number,
    options: WebhookOptions & { action?: 'created' } = {},
  ): Promise<BuiltWebhook<Schemas['webhook-issue-comment-created']>> {
    const repo = this.repo(owner, name);
    const comment = repo.issueComments.find((candidate) => candidate.id === commentId);
    if (!comment) throw new Error(`no issue comment ${commentId} in ${fullName(repo)}`);
    const json = issueCommentJson(this.state, repo, comment);
    const pull = this.pull(repo, comment.number);
    const pullJson = await this.pullRequestJson(repo, pull);
    const api = `${this.state.serverUrl}/api/v3/repos/${fullName(repo)}`;
    const issueUrl = `${api}/issues/${pull.number}`;
    const issue: Schemas['webhook-issue-comment-created']['issue'] = {
      url: issueUrl,
      repository_url: api,
      labels_url: `${issueUrl}/labels{/name}`,
      comments_url: `${issueUrl}/comments`,
      events_url: `${issueUrl}/events`,
      html_url: pullJson.html_url,
      id: pull.id,
      node_id: Buffer.from(`Issue${pull.id}`).toString('base64'),
      number: pull.number,
      title: pull.title,
      user: pullJson.user,
      labels: [],
      state: pull.state,
      locked: false,
      assignee: null,
      assignees: [],
      milestone: null,
      comments: repo.issueComments.filter((c) => c.number === pull.number).length,
      created_at: pull.createdAt,
      updated_at: pull.updatedAt,
      closed_at: pull.closedAt,
      author_association: pullJson.author_association,
      active_lock_reason: null,
      draft: pull.draft,
      pull_request: {
        url: pullJson.url,
        html_url: pullJson.html_url,
        diff_url: pullJson.diff_url,
        patch_url: pullJson.patch_url,
        merged_at: pull.mergedAt,
      },
      body: pull.body,
      reactions: { ...json.reactions, url: `${issueUrl}/reactions` },
      timeline_url: `${issueUrl}/timeline`,
      performed_via_github_app: null,
      state_reason: null,
    };
    return {
      event: 'issue_comment',
      target: this.target(repo),
      payload: {
        action: 'created',
        issue,
        comment: json,
        ...this.common(repo, userRef(options.sender ?? comment.user)),
      },
    };
  }

  /** The "simple pull request" object webhook payloads carry. */
  async pullRequestJson(repo: RepoRecord, pull: FakePull) {
    const state = this.state;
    const api = `${state.serverUrl}/api/v3/repos/${fullName(repo)}`;
    const htmlUrl = `${state.serverUrl}/${fullName(repo)}/pull/${pull.number}`;
    const url = `${api}/pulls/${pull.number}`;
    const headSha =
      pull.state === 'open'
        ? ((await resolveRef(repo.gitDir, `refs/heads/${pull.headRef}`)) ?? pull.headSha)
        : pull.headSha;
    const baseSha = (await resolveRef(repo.gitDir, `refs/heads/${pull.baseRef}`)) ?? '';
    const owner = state.userJson(repo.owner, 'Organization');
    const side = (ref: string, sha: string) => ({
      label: `${repo.owner}:${ref}`,
      ref,
      sha,
      user: owner,
      repo: state.repoJson(repo),
    });
    const author = userRef(pull.user);
    return {
      url,
      id: pull.id,
      node_id: Buffer.from(`PullRequest${pull.id}`).toString('base64'),
      html_url: htmlUrl,
      diff_url: `${htmlUrl}.diff`,
      patch_url: `${htmlUrl}.patch`,
      issue_url: `${api}/issues/${pull.number}`,
      number: pull.number,
      state: pull.state,
      locked: false,
      title: pull.title,
      user: state.userJson(author.login, author.type),
      body: pull.body,
      created_at: pull.createdAt,
      updated_at: pull.updatedAt,
      closed_at: pull.closedAt,
      merged_at: pull.mergedAt,
      merge_commit_sha: pull.mergeCommitSha,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      labels: [],
      milestone: null,
      draft: pull.draft,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      review_comment_url: `${api}/pulls/comments{/number}`,
      comments_url: `${api}/issues/${pull.number}/comments`,
      statuses_url: `${api}/statuses/${headSha}`,
      head: side(pull.headRef, headSha),
      base: side(pull.baseRef, baseSha),
      _links: {
        self: { href: url },
        html: { href: htmlUrl },
        issue: { href: `${api}/issues/${pull.number}` },
        comments: { href: `${api}/issues/${pull.number}/comments` },
        review_comments: { href: `${url}/comments` },
        review_comment: { href: `${api}/pulls/comments{/number}` },
        commits: { href: `${url}/commits` },
        statuses: { href: `${api}/statuses/${headSha}` },
      },
      author_association: associationOf(repo, author),
      auto_merge: null,
      active_lock_reason: null,
    };
  }
}
