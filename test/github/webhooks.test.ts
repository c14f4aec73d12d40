import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CustomRoute } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { octokitFactory } from '../../src/github/octokit.js';
import {
  type DeliveryInfo,
  GITHUB_WEBHOOK_PATH,
  type GitHubEvent,
  githubWebhookHandler,
  parseWebhook,
  verifyWebhookSignature,
  webhookSignature,
} from '../../src/github/webhooks.js';
import {
  DEFAULT_FAKE_GITHUB_TOKEN,
  deliverWebhook,
  type FakeGitHub,
  startFakeGitHub,
  webhookSignature256,
} from '../fakes/github-server.js';
import { captureLogger } from '../helpers/logger.js';
import { type PrFixture, repoWithPullRequest } from './pr-fixture.js';

const SECRET = 'webhook-secret-0123456789';
const APP_ID = 4242;
let fake: FakeGitHub;
let server: Server;
let url: string;
let pr: PrFixture;
const log = captureLogger();
const received: Array<{ event: GitHubEvent; delivery: DeliveryInfo }> = [];
/** What the next onEvent call does (throw, wait). */
let onEventHook: (() => Promise<void>) | undefined;

const handler = githubWebhookHandler({
  secret: SECRET,
  logger: log.logger,
  onEvent: async (event, delivery) => {
    received.push({ event, delivery });
    await onEventHook?.();
  },
});

// The route fits Bolt's customRoutes, as the Slack app mounts it.
const route: CustomRoute = { path: GITHUB_WEBHOOK_PATH, method: ['POST', 'GET'], handler };

beforeAll(async () => {
  fake = await startFakeGitHub({ app: { id: APP_ID, slug: 'ai-dev' } });
  const octokit = octokitFactory({ baseUrl: fake.apiUrl, logger: log.logger, throttle: false })(
    DEFAULT_FAKE_GITHUB_TOKEN,
  );
  pr = await repoWithPullRequest(fake, octokit, { name: 'hooks', files: { 'a.ts': 'one\ntwo\n' } });
  server = createServer((req, res) => {
    if (req.url === route.path) route.handler(Object.assign(req, { params: {} }), res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${GITHUB_WEBHOOK_PATH}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await fake?.close();
});

async function post(body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'x-github-delivery': 'd-1', ...headers },
  });
  return { status: response.status, text: await response.text() };
}

describe('webhook signatures', () => {
  it('accepts exactly GitHub’s HMAC-SHA256 of the raw body under the secret', () => {
    const body = Buffer.from('{"zen":"Keep it logically awesome."}');
    const signature = webhookSignature(body, SECRET);
    expect(signature).toBe(webhookSignature256(body, SECRET));
    expect(verifyWebhookSignature(body, signature, SECRET)).toBe(true);
    expect(verifyWebhookSignature(body, signature.toUpperCase().replace('SHA256=', 'sha256='), SECRET)).toBe(true);
    expect(verifyWebhookSignature(Buffer.from(`${body} `), signature, SECRET)).toBe(false);
    expect(verifyWebhookSignature(body, webhookSignature(body, 'another-secret'), SECRET)).toBe(false);
    expect(verifyWebhookSignature(body, signature.slice(0, -2), SECRET)).toBe(false);
    expect(verifyWebhookSignature(body, `sha1=${signature.slice(7)}`, SECRET)).toBe(false);
    expect(verifyWebhookSignature(body, undefined, SECRET)).toBe(false);
    expect(verifyWebhookSignature(body, webhookSignature(body, ''), '')).toBe(false);
    expect(() => githubWebhookHandler({ secret: '', onEvent: () => {} })).toThrow(/GITHUB_WEBHOOK_SECRET/);
  });
});

describe('POST /github/events', () => {
  it('hands on the six events the loop needs, signed like GitHub’s, as small typed events', async () => {
    received.length = 0;
    const { owner, name, number, headSha, branch } = pr;
    fake.setCollaborator(owner, name, 'alice', 'write');
    const run = await fake.addCheckRun(owner, name, {
      sha: headSha,
      name: 'test (ubuntu)',
      conclusion: 'failure',
      actions: { log: 'boom\n' },
    });
    const status = await fake.addStatus(owner, name, {
      sha: headSha,
      state: 'error',
      context: 'ci/legacy',
      targetUrl: 'https://ci.example/1',
      description: 'Broke',
    });
    const review = await fake.addReview(owner, name, number, {
      user: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'Please rename',
      comments: [{ path: 'a.ts', line: 2, body: 'rename two' }],
    });
    const comment = fake.addIssueComment(owner, name, number, { user: 'alice', body: '@ai-dev fix CI' });
    const hooks = [
      await fake.webhooks.checkRun(owner, name, run.id),
      await fake.webhooks.checkSuite(owner, name, run.suiteId),
      await fake.webhooks.status(owner, name, status.id),
      await fake.webhooks.pullRequestReview(owner, name, review.id),
      await fake.webhooks.pullRequestReviewComment(owner, name, Number(review.commentIds[0])),
      await fake.webhooks.issueComment(owner, name, comment.id),
    ];
    const deliveries: string[] = [];
    for (const hook of hooks) {
      const result = await deliverWebhook(url, { ...hook, secret: SECRET });
      expect(result).toMatchObject({ status: 202, body: 'accepted' });
      deliveries.push(result.deliveryId);
    }
    await expect.poll(() => received.length).toBe(6);
    const repo = { owner, name };
    const installationId = fake.installationId(owner);
    expect(received.map((r) => r.delivery)).toEqual(
      hooks.map((hook, i) => ({ deliveryId: deliveries[i], event: hook.event, installationId })),
    );
    expect(received.map((r) => r.event)).toEqual([
      {
        kind: 'check-run',
        repo,
        sha: headSha,
        checkRunId: run.id,
        name: 'test (ubuntu)',
        conclusion: 'failure',
        app: 'github-actions',
        pullRequests: [number],
      },
      {
        kind: 'check-suite',
        repo,
        sha: headSha,
        suiteId: run.suiteId,
        conclusion: 'failure',
        app: 'github-actions',
        pullRequests: [number],
      },
      {
        kind: 'status',
        repo,
        sha: headSha,
        context: 'ci/legacy',
        state: 'error',
        targetUrl: 'https://ci.example/1',
        description: 'Broke',
      },
      {
        kind: 'review',
        repo,
        pr: number,
        headSha,
        headRef: branch,
        reviewId: review.id,
        user: { login: 'alice', type: 'User' },
        association: 'COLLABORATOR',
        state: 'CHANGES_REQUESTED',
        body: 'Please rename',
      },
      {
        kind: 'review-comment',
        repo,
        pr: number,
        headSha,
        headRef: branch,
        commentId: review.commentIds[0],
        reviewId: review.id,
        inReplyToId: undefined,
        user: { login: 'alice', type: 'User' },
        association: 'COLLABORATOR',
        body: 'rename two',
        path: 'a.ts',
        line: 2,
      },
      {
        kind: 'pr-comment',
        repo,
        pr: number,
        commentId: comment.id,
        user: { login: 'alice', type: 'User' },
        association: 'COLLABORATOR',
        body: '@ai-dev fix CI',
      },
    ]);
  });

  it('refuses a missing or wrong signature (401) and hands nothing on', async () => {
    received.length = 0;
    const hook = await fake.webhooks.issueComment(
      pr.owner,
      pr.name,
      fake.addIssueComment(pr.owner, pr.name, pr.number, { user: 'mallory', body: '@ai-dev rm -rf' }).id,
    );
    expect(await deliverWebhook(url, { ...hook, secret: 'guessed-secret' })).toMatchObject({ status: 401 });
    expect(await deliverWebhook(url, hook)).toMatchObject({ status: 401 });
    // A body changed after signing.
    const body = JSON.stringify(hook.payload);
    const forged = await post(body.replace('rm -rf', 'rm -rf /'), {
      'x-github-event': 'issue_comment',
      'x-hub-signature-256': webhookSignature(body, SECRET),
    });
    expect(forged.status).toBe(401);
    expect(received).toEqual([]);
    expect(
      log.lines().filter((l) => l.msg === 'refused a GitHub webhook with a missing or wrong signature'),
    ).toHaveLength(3);
    expect(log.text()).not.toContain(SECRET);
  });

  it('answers 400 to bad JSON, 405 to other methods, 200 to pings and to events the loop does not need', async () => {
    received.length = 0;
    const bad = 'not json {';
    expect(
      await post(bad, { 'x-github-event': 'issue_comment', 'x-hub-signature-256': webhookSignature(bad, SECRET) }),
    ).toEqual({
      status: 400,
      text: 'bad JSON',
    });
    const noEvent = '{}';
    expect((await post(noEvent, { 'x-hub-signature-256': webhookSignature(noEvent, SECRET) })).status).toBe(400);
    expect((await fetch(url)).status).toBe(405);
    const ping = JSON.stringify({ zen: 'Design for failure.', hook_id: 1 });
    expect(
      await post(ping, { 'x-github-event': 'ping', 'x-hub-signature-256': webhookSignature(ping, SECRET) }),
    ).toEqual({
      status: 200,
      text: 'pong',
    });

    const run = await fake.addCheckRun(pr.owner, pr.name, { sha: pr.headSha, name: 'lint', status: 'in_progress' });
    const created = await fake.webhooks.checkRun(pr.owner, pr.name, run.id, { action: 'created' });
    expect(await deliverWebhook(url, { ...created, secret: SECRET })).toMatchObject({ status: 200, body: 'ignored' });
    const push = { event: 'push', payload: { ref: 'refs/heads/main', repository: created.payload.repository } };
    expect(await deliverWebhook(url, { ...push, secret: SECRET })).toMatchObject({ status: 200, body: 'ignored' });
    // A comment on an issue (no `pull_request` in `issue`) is not a PR comment.
    const onPr = await fake.webhooks.issueComment(
      pr.owner,
      pr.name,
      fake.addIssueComment(pr.owner, pr.name, pr.number, { user: 'alice', body: 'x' }).id,
    );
    const onIssue = {
      ...onPr,
      payload: { ...onPr.payload, issue: { ...onPr.payload.issue, pull_request: undefined } },
    };
    expect(await deliverWebhook(url, { ...onIssue, secret: SECRET })).toMatchObject({ status: 200, body: 'ignored' });
    expect(received).toEqual([]);

    // The other content type GitHub offers: form-encoded with the JSON in `payload`.
    const form = new URLSearchParams({ payload: JSON.stringify(onPr.payload) }).toString();
    const formResult = await post(form, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-github-event': 'issue_comment',
      'x-hub-signature-256': webhookSignature(form, SECRET),
    });
    expect(formResult.status).toBe(202);
    await expect.poll(() => received.length).toBe(1);
  });

  it('answers before the event is handled, and a failing handler is logged, not answered', async () => {
    received.length = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    onEventHook = () => held;
    const hook = await fake.webhooks.status(
      pr.owner,
      pr.name,
      (await fake.addStatus(pr.owner, pr.name, { sha: pr.headSha, state: 'success', context: 'ci/x' })).id,
    );
    expect(await deliverWebhook(url, { ...hook, secret: SECRET })).toMatchObject({ status: 202 });
    expect(received).toHaveLength(1);
    release();

    onEventHook = async () => {
      throw new Error('store unavailable');
    };
    expect(await deliverWebhook(url, { ...hook, secret: SECRET, deliveryId: 'again' })).toMatchObject({ status: 202 });
    await expect
      .poll(() =>
        log.lines().some((l) => String(l.msg).startsWith('handling a GitHub webhook failed: store unavailable')),
      )
      .toBe(true);
    onEventHook = undefined;
    expect(received.at(-1)?.delivery.deliveryId).toBe('again');
  });

  it('refuses a body over the size cap with 413', async () => {
    const small = githubWebhookHandler({ secret: SECRET, onEvent: () => {}, maxBodyBytes: 64 });
    const tiny = createServer(small);
    await new Promise<void>((resolve) => tiny.listen(0, '127.0.0.1', resolve));
    try {
      const body = JSON.stringify({ padding: 'x'.repeat(100) });
      const response = await fetch(`http://127.0.0.1:${(tiny.address() as AddressInfo).port}/`, {
        method: 'POST',
        body,
        headers: { 'x-github-event': 'status', 'x-hub-signature-256': webhookSignature(body, SECRET) },
      });
      expect(response.status).toBe(413);
    } finally {
      await new Promise<void>((resolve) => tiny.close(() => resolve()));
    }
  });
});

describe('parseWebhook', () => {
  it('ignores a wanted event whose payload lacks GitHub’s fields, saying why', () => {
    expect(parseWebhook('check_run', { action: 'completed' })).toEqual({
      ok: false,
      ignored: 'malformed check_run payload',
    });
    expect(parseWebhook('pull_request_review', { action: 'dismissed' })).toMatchObject({ ok: false });
  });

  it('turns a closed PR into `pr-closed`; other pull_request actions are ignored', async () => {
    const opened = await fake.webhooks.pullRequest(pr.owner, pr.name, pr.number, { action: 'opened' });
    expect(parseWebhook(opened.event, opened.payload)).toEqual({ ok: false, ignored: 'pull_request opened' });
    // Last in this file: the fixture's PR is closed for good.
    fake.closePull(pr.owner, pr.name, pr.number);
    const closed = await fake.webhooks.pullRequest(pr.owner, pr.name, pr.number);
    expect(parseWebhook(closed.event, closed.payload)).toMatchObject({
      ok: true,
      event: { kind: 'pr-closed', repo: { owner: pr.owner, name: pr.name }, pr: pr.number, merged: false },
    });
  });
});
