import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { RepoRef } from './repo-ref.js';

/**
 * GitHub's webhooks for the CI and review loop (GitHub App mode): `POST /github/events`, each delivery
 * signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` under `GITHUB_WEBHOOK_SECRET`.
 * Only the events the loop needs become domain events; everything else is acknowledged and dropped.
 *
 * GitHub does not redeliver a failed delivery by itself, and a redelivery (from the App's settings or the
 * REST API) keeps its `X-GitHub-Delivery` GUID: treat events as hints to re-read the state over REST, and
 * use the delivery id to drop repeats.
 */

export const GITHUB_WEBHOOK_PATH = '/github/events';

/** GitHub caps a webhook payload at 25 MB. */
const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;

export interface WebhookUser {
  login: string;
  /** `User` or `Bot` (an App's `<slug>[bot]`, Dependabot, …). */
  type: string;
}

/** What GitHub says of the author's relation to the repo: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, … */
export type AuthorAssociation = string;

interface RepoPart {
  repo: RepoRef;
}

/** A check run completed on `sha` (GitHub Actions jobs are check runs). */
export interface CheckRunEvent extends RepoPart {
  kind: 'check-run';
  sha: string;
  checkRunId: number;
  name: string;
  conclusion: string | null;
  /** The App that ran it, e.g. `github-actions`. */
  app: string | undefined;
  /** Open PRs of this repo whose head is `sha`, as GitHub lists them (empty for PRs from forks). */
  pullRequests: number[];
}

/** Every run of one App's suite completed on `sha`. */
export interface CheckSuiteEvent extends RepoPart {
  kind: 'check-suite';
  sha: string;
  suiteId: number;
  conclusion: string | null;
  app: string | undefined;
  pullRequests: number[];
}

/** A commit status was set on `sha`. */
export interface StatusEvent extends RepoPart {
  kind: 'status';
  sha: string;
  context: string;
  state: 'pending' | 'success' | 'failure' | 'error';
  targetUrl: string | undefined;
  description: string | undefined;
}

interface PullRequestPart extends RepoPart {
  pr: number;
  /** The PR's head commit when the event was sent. */
  headSha: string;
  /** The PR's head branch, e.g. `ai-dev/fix-thing-abc123`. */
  headRef: string;
}

/** Someone submitted a review (its inline comments each come as a `review-comment` too, with `reviewId`). */
export interface ReviewEvent extends PullRequestPart {
  kind: 'review';
  reviewId: number;
  user: WebhookUser;
  association: AuthorAssociation;
  /** Upper case as the REST API writes it (webhooks send lower case): APPROVED, CHANGES_REQUESTED, COMMENTED. */
  state: string;
  body: string;
}

/** Someone commented on a line or file of the PR's diff (alone, in a review, or as a reply in a thread). */
export interface ReviewCommentEvent extends PullRequestPart {
  kind: 'review-comment';
  commentId: number;
  /** The review it belongs to; a batched review's comments share it. */
  reviewId: number | null;
  /** Set for a reply: the thread's first comment. */
  inReplyToId: number | undefined;
  user: WebhookUser;
  association: AuthorAssociation;
  body: string;
  path: string;
  line: number | null;
}

/** Someone commented on the PR's conversation. */
export interface PullRequestCommentEvent extends RepoPart {
  kind: 'pr-comment';
  pr: number;
  commentId: number;
  user: WebhookUser;
  association: AuthorAssociation;
  body: string;
}

/** The PR was closed (merged or not): the loops stop following it. */
export interface PullRequestClosedEvent extends RepoPart {
  kind: 'pr-closed';
  pr: number;
  merged: boolean;
}

export type GitHubEvent =
  | PullRequestClosedEvent
  | CheckRunEvent
  | CheckSuiteEvent
  | StatusEvent
  | ReviewEvent
  | ReviewCommentEvent
  | PullRequestCommentEvent;

export interface DeliveryInfo {
  /** `X-GitHub-Delivery`: the same GUID on a redelivery. */
  deliveryId: string;
  /** `X-GitHub-Event`, e.g. `check_run`. */
  event: string;
  /** The App installation the event is for, when an App receives it. */
  installationId: number | undefined;
}

// ---- signature ----------------------------------------------------------------------------------

/** `sha256=<hex>`, the value GitHub sends as `X-Hub-Signature-256` for `body`. */
export function webhookSignature(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is GitHub's signature of exactly these bytes; compared in constant time. */
export function verifyWebhookSignature(body: Buffer, header: string | undefined, secret: string): boolean {
  if (secret === '' || typeof header !== 'string') return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match?.[1]) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(match[1], 'hex'), expected);
}

// ---- payloads ------------------------------------------------------------------------------------

const user = z.object({ login: z.string(), type: z.string().default('User') });
const repository = z.object({ name: z.string(), owner: z.object({ login: z.string() }) });
const installation = z.object({ id: z.number() }).nullish();
const appRef = z.object({ slug: z.string().nullish() }).nullish();
const minimalPulls = z.array(z.object({ number: z.number() })).default([]);
const pullRequest = z.object({
  number: z.number(),
  head: z.object({ sha: z.string(), ref: z.string() }),
});
const text = z
  .string()
  .nullish()
  .transform((value) => value ?? '');

const checkRunPayload = z.object({
  action: z.string(),
  check_run: z.object({
    id: z.number(),
    name: z.string(),
    head_sha: z.string(),
    conclusion: z.string().nullish(),
    app: appRef,
    pull_requests: minimalPulls,
  }),
  repository,
  installation,
});

const checkSuitePayload = z.object({
  action: z.string(),
  check_suite: z.object({
    id: z.number(),
    head_sha: z.string(),
    conclusion: z.string().nullish(),
    app: appRef,
    pull_requests: minimalPulls,
  }),
  repository,
  installation,
});

const statusPayload = z.object({
  sha: z.string(),
  context: z.string(),
  state: z.enum(['pending', 'success', 'failure', 'error']),
  target_url: z.string().nullish(),
  description: z.string().nullish(),
  repository,
  installation,
});

const reviewPayload = z.object({
  action: z.string(),
  review: z.object({
    id: z.number(),
    user: user.nullable(),
    body: text,
    state: z.string(),
    author_association: z.string(),
  }),
  pull_request: pullRequest,
  repository,
  installation,
});

const reviewCommentPayload = z.object({
  action: z.string(),
  comment: z.object({
    id: z.number(),
    pull_request_review_id: z.number().nullish(),
    in_reply_to_id: z.number().nullish(),
    user: user.nullable(),
    body: text,
    path: z.string(),
    line: z.number().nullish(),
    author_association: z.string(),
  }),
  pull_request: pullRequest,
  repository,
  installation,
});

const pullRequestPayload = z.object({
  action: z.string(),
  pull_request: z.object({ number: z.number(), merged: z.boolean().nullish() }),
  repository,
  installation,
});

const issueCommentPayload = z.object({
  action: z.string(),
  issue: z.object({ number: z.number(), pull_request: z.object({}).passthrough().nullish() }),
  comment: z.object({ id: z.number(), user: user.nullable(), body: text, author_association: z.string() }),
  repository,
  installation,
});

const repoOf = (payload: z.infer<typeof repository>): RepoRef => ({
  owner: payload.owner.login,
  name: payload.name,
});

/** A deleted account shows as GitHub's `ghost`. */
const userOf = (value: z.infer<typeof user> | null): WebhookUser => value ?? { login: 'ghost', type: 'User' };

export type ParsedWebhook =
  | { ok: true; event: GitHubEvent; installationId: number | undefined }
  /** An event or action the loop does not need (answered 2xx, nothing else happens). */
  | { ok: false; ignored: string };

/**
 * Turns one delivery's `X-GitHub-Event` and JSON payload into a domain event: completed check runs and
 * suites, statuses, submitted reviews, created review comments, created comments on a PR's conversation,
 * closed PRs.
 * A payload of a wanted event that does not have the fields GitHub documents is ignored with the reason.
 */
export function parseWebhook(event: string, payload: unknown): ParsedWebhook {
  const ignore = (why: string): ParsedWebhook => ({ ok: false, ignored: why });
  const parse = <T extends z.ZodType>(schema: T): z.infer<T> | undefined => {
    const result = schema.safeParse(payload);
    return result.success ? result.data : undefined;
  };
  switch (event) {
    case 'check_run': {
      const p = parse(checkRunPayload);
      if (!p) return ignore('malformed check_run payload');
      if (p.action !== 'completed') return ignore(`check_run ${p.action}`);
      const run = p.check_run;
      return done(
        {
          kind: 'check-run',
          repo: repoOf(p.repository),
          sha: run.head_sha,
          checkRunId: run.id,
          name: run.name,
          conclusion: run.conclusion ?? null,
          app: run.app?.slug ?? undefined,
          pullRequests: run.pull_requests.map((pr) => pr.number),
        },
        p.installation,
      );
    }
    case 'check_suite': {
      const p = parse(checkSuitePayload);
      if (!p) return ignore('malformed check_suite payload');
      if (p.action !== 'completed') return ignore(`check_suite ${p.action}`);
      const suite = p.check_suite;
      return done(
        {
          kind: 'check-suite',
          repo: repoOf(p.repository),
          sha: suite.head_sha,
          suiteId: suite.id,
          conclusion: suite.conclusion ?? null,
          app: suite.app?.slug ?? undefined,
          pullRequests: suite.pull_requests.map((pr) => pr.number),
        },
        p.installation,
      );
    }
    case 'status': {
      const p = parse(statusPayload);
      if (!p) return ignore('malformed status payload');
      return done(
        {
          kind: 'status',
          repo: repoOf(p.repository),
          sha: p.sha,
          context: p.context,
          state: p.state,
          targetUrl: p.target_url ?? undefined,
          description: p.description ?? undefined,
        },
        p.installation,
      );
    }
    case 'pull_request_review': {
      const p = parse(reviewPayload);
      if (!p) return ignore('malformed pull_request_review payload');
      if (p.action !== 'submitted') return ignore(`pull_request_review ${p.action}`);
      return done(
        {
          kind: 'review',
          repo: repoOf(p.repository),
          pr: p.pull_request.number,
          headSha: p.pull_request.head.sha,
          headRef: p.pull_request.head.ref,
          reviewId: p.review.id,
          user: userOf(p.review.user),
          association: p.review.author_association,
          state: p.review.state.toUpperCase(),
          body: p.review.body,
        },
        p.installation,
      );
    }
    case 'pull_request_review_comment': {
      const p = parse(reviewCommentPayload);
      if (!p) return ignore('malformed pull_request_review_comment payload');
      if (p.action !== 'created') return ignore(`pull_request_review_comment ${p.action}`);
      const c = p.comment;
      return done(
        {
          kind: 'review-comment',
          repo: repoOf(p.repository),
          pr: p.pull_request.number,
          headSha: p.pull_request.head.sha,
          headRef: p.pull_request.head.ref,
          commentId: c.id,
          reviewId: c.pull_request_review_id ?? null,
          inReplyToId: c.in_reply_to_id ?? undefined,
          user: userOf(c.user),
          association: c.author_association,
          body: c.body,
          path: c.path,
          line: c.line ?? null,
        },
        p.installation,
      );
    }
    case 'pull_request': {
      const p = parse(pullRequestPayload);
      if (!p) return ignore('malformed pull_request payload');
      if (p.action !== 'closed') return ignore(`pull_request ${p.action}`);
      return done(
        {
          kind: 'pr-closed',
          repo: repoOf(p.repository),
          pr: p.pull_request.number,
          merged: p.pull_request.merged === true,
        },
        p.installation,
      );
    }
    case 'issue_comment': {
      const p = parse(issueCommentPayload);
      if (!p) return ignore('malformed issue_comment payload');
      if (p.action !== 'created') return ignore(`issue_comment ${p.action}`);
      if (!p.issue.pull_request) return ignore('issue_comment on an issue, not a pull request');
      return done(
        {
          kind: 'pr-comment',
          repo: repoOf(p.repository),
          pr: p.issue.number,
          commentId: p.comment.id,
          user: userOf(p.comment.user),
          association: p.comment.author_association,
          body: p.comment.body,
        },
        p.installation,
      );
    }
    default:
      return ignore(`event ${event}`);
  }
}

function done(event: GitHubEvent, installationRef: { id: number } | null | undefined): ParsedWebhook {
  return { ok: true, event, installationId: installationRef?.id };
}

// ---- the HTTP route ----------------------------------------------------------------------------

export interface WebhookHandlerOptions {
  /** `GITHUB_WEBHOOK_SECRET`, as set in the GitHub App's settings. */
  secret: string;
  /**
   * Told each event after the answer went out (GitHub waits at most 10 s for it). Its failure is logged,
   * never answered: GitHub would not retry anyway.
   */
  onEvent: (event: GitHubEvent, delivery: DeliveryInfo) => void | Promise<void>;
  logger?: Logger;
  maxBodyBytes?: number;
}

type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The `POST /github/events` route, shaped for Bolt's `customRoutes` (HTTP and Socket Mode alike) or any
 * `http` server: it reads the raw body, refuses a missing or wrong signature (401), bad JSON (400) and
 * other methods (405), answers 202 for an event the loop wants or 200 for one it ignores, and only then
 * hands the event on.
 */
export function githubWebhookHandler(options: WebhookHandlerOptions): RouteHandler {
  if (!options.secret) throw new Error('a GitHub webhook route needs GITHUB_WEBHOOK_SECRET');
  const { secret, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger?.error({ err: error }, 'the GitHub webhook route failed');
      if (!res.headersSent) answer(res, 500, 'internal error');
      else res.destroy();
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ((req.method ?? '').toUpperCase() !== 'POST') {
      req.resume();
      res.setHeader('allow', 'POST');
      answer(res, 405, 'POST only');
      return;
    }
    const body = await readLimited(req, maxBodyBytes);
    if (body === undefined) {
      answer(res, 413, 'payload too large');
      return;
    }
    const deliveryId = header(req, 'x-github-delivery') ?? '';
    const eventName = header(req, 'x-github-event');
    if (!verifyWebhookSignature(body, header(req, 'x-hub-signature-256'), secret)) {
      logger?.warn({ deliveryId, event: eventName }, 'refused a GitHub webhook with a missing or wrong signature');
      answer(res, 401, 'bad signature');
      return;
    }
    if (!eventName) {
      answer(res, 400, 'missing X-GitHub-Event');
      return;
    }
    const payload = parseBody(body, header(req, 'content-type'));
    if (payload === undefined) {
      answer(res, 400, 'bad JSON');
      return;
    }
    if (eventName === 'ping') {
      answer(res, 200, 'pong');
      return;
    }
    const parsed = parseWebhook(eventName, payload);
    if (!parsed.ok) {
      logger?.debug({ deliveryId, event: eventName, why: parsed.ignored }, 'ignored a GitHub webhook');
      answer(res, 200, 'ignored');
      return;
    }
    answer(res, 202, 'accepted');
    const delivery: DeliveryInfo = { deliveryId, event: eventName, installationId: parsed.installationId };
    try {
      await options.onEvent(parsed.event, delivery);
    } catch (error) {
      logger?.error(
        { err: error, deliveryId, event: eventName },
        `handling a GitHub webhook failed: ${errorMessage(error)}`,
      );
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function answer(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(message);
}

/** The raw body, or undefined when it is longer than `max` (the rest is drained, not kept). */
async function readLimited(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const declared = Number(header(req, 'content-length'));
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > max) tooLarge = true;
    if (!tooLarge) chunks.push(buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

/** JSON, or the `payload` field of a form-encoded delivery (the webhook's other content type). */
function parseBody(body: Buffer, contentType: string | undefined): unknown {
  let text = body.toString('utf8');
  if (/^application\/x-www-form-urlencoded/i.test(contentType ?? '')) {
    text = new URLSearchParams(text).get('payload') ?? '';
  }
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
