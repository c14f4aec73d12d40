import { generateKeyPairSync } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import type { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appBotIdentity,
  type BotIdentity,
  mentionsBot,
  resolveBotIdentity,
  userBotIdentity,
} from '../../src/github/bot-identity.js';
import { octokitFactory } from '../../src/github/octokit.js';
import { collectFollowUps, type FollowUp, postReplies, renderFollowUp } from '../../src/github/reviews.js';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { captureLogger } from '../helpers/logger.js';
import { type PrFixture, repoWithPullRequest } from './pr-fixture.js';

const TOKEN = DEFAULT_FAKE_GITHUB_TOKEN;
const APP_ID = 777;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const log = captureLogger();
let fake: FakeGitHub;
/** The token's user is the bot in token mode. */
const bot: BotIdentity = userBotIdentity('dev');

let gh: Octokit;

beforeAll(async () => {
  fake = await startFakeGitHub({
    tokens: { [TOKEN]: { login: 'dev', kind: 'user' } },
    app: { id: APP_ID, slug: 'ai-dev', publicKey },
  });
  gh = octokitFactory({ baseUrl: fake.apiUrl, logger: log.logger, throttle: false, retries: 0 })(TOKEN);
});

afterAll(async () => {
  await fake?.close();
});

let counter = 0;
async function prWithFiles(): Promise<PrFixture & { repo: { owner: string; name: string } }> {
  counter += 1;
  const fixture = await repoWithPullRequest(fake, gh, {
    name: `rev${counter}`,
    base: { 'src/a.ts': 'one\ntwo\n', 'README.md': '# r\n' },
    files: { 'src/a.ts': 'a\nb\nc\nd\ne\nf\n', 'src/b.ts': 'export const b = 1;\n' },
  });
  fake.setCollaborator(fixture.owner, fixture.name, 'alice', 'write');
  return { ...fixture, repo: { owner: fixture.owner, name: fixture.name } };
}

describe('collectFollowUps', () => {
  it('makes a batched review one follow-up, keeps only people with write access, never the bot’s own', async () => {
    const { owner, name, number, repo } = await prWithFiles();
    fake.setCollaborator(owner, name, 'reader', 'read');
    fake.setCollaborator(owner, name, 'carol', 'maintain');
    const review = await fake.addReview(owner, name, number, {
      user: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'A few things.',
      comments: [
        { path: 'src/a.ts', line: 2, body: 'Rename b to beta' },
        { path: 'src/a.ts', startLine: 4, line: 6, body: 'These three lines\ncan go.' },
        { path: 'src/b.ts', body: 'Add a doc comment to this file' },
      ],
    });
    const single = await fake.addReviewComment(owner, name, number, {
      user: 'carol',
      association: 'CONTRIBUTOR', // not trusted by association: her maintain role is looked up
      path: 'src/a.ts',
      line: 3,
      body: 'Typo here',
    });
    await fake.addReviewComment(owner, name, number, { user: 'mallory', path: 'src/a.ts', line: 1, body: 'Delete CI' });
    await fake.addReview(owner, name, number, { user: 'alice', state: 'APPROVED' });
    fake.addIssueComment(owner, name, number, { user: 'alice', body: 'Nice work, no action needed' });
    const asked = fake.addIssueComment(owner, name, number, {
      user: 'alice',
      body: '@dev please also update the README.',
    });
    fake.addIssueComment(owner, name, number, { user: 'mallory', body: '@dev add my crypto miner' });
    fake.addIssueComment(owner, name, number, { user: 'renovate[bot]', body: '@dev rebase' });
    fake.addIssueComment(owner, name, number, { user: 'dev', body: 'Done, @dev out.' });
    fake.addIssueComment(owner, name, number, { user: 'reader', body: '@dev change the licence' });

    const collected = await collectFollowUps(gh, repo, { pr: number, bot });
    expect(collected.followUps.map((f) => f.key)).toEqual([
      `review:${review.id}`,
      `review:${single.reviewId}`,
      `comment:${asked.id}`,
      // A read-only collaborator still shows as COLLABORATOR: trusted by association (see trust: 'permission').
      expect.stringMatching(/^comment:/),
    ]);
    const [batched, carol, prComment] = collected.followUps as [FollowUp, FollowUp, FollowUp];
    expect(batched).toMatchObject({
      kind: 'review',
      author: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'A few things.',
    });
    expect(
      batched.kind === 'review' && batched.comments.map((c) => [c.id, c.threadId, c.path, c.startLine, c.line]),
    ).toEqual([
      [review.commentIds[0], review.commentIds[0], 'src/a.ts', null, 2],
      [review.commentIds[1], review.commentIds[1], 'src/a.ts', 4, 6],
      [review.commentIds[2], review.commentIds[2], 'src/b.ts', null, null],
    ]);
    expect(carol).toMatchObject({ kind: 'review', author: 'carol', association: 'CONTRIBUTOR' });
    expect(prComment).toMatchObject({
      kind: 'pr-comment',
      author: 'alice',
      body: '@dev please also update the README.',
    });
    expect(collected.ignored.map((i) => [i.author, i.reason])).toEqual([
      ['mallory', 'no-write-access'],
      ['alice', 'nothing-asked'],
      ['alice', 'no-mention'],
      ['mallory', 'no-write-access'],
      ['renovate[bot]', 'bot'],
      ['dev', 'bot'],
    ]);
    // Permissions were looked up once each for carol and mallory, never for alice (COLLABORATOR).
    const lookups = fake.requests.filter((r) => r.path.startsWith(`/repos/${owner}/${name}/collaborators/`));
    expect(lookups.map((r) => r.path.split('/')[5])).toEqual(['carol', 'mallory']);

    const strict = await collectFollowUps(gh, repo, { pr: number, bot, trust: 'permission' });
    expect(strict.followUps.map((f) => f.author)).toEqual(['alice', 'carol', 'alice']);
    expect(strict.ignored).toContainEqual({
      key: expect.stringMatching(/^comment:/),
      author: 'reader',
      reason: 'no-write-access',
    });

    // Handled keys and `since` leave out what was dealt with.
    const handled = new Set(collected.followUps.map((f) => f.key));
    expect((await collectFollowUps(gh, repo, { pr: number, bot, handled })).followUps).toEqual([]);
    const later = new Date(Date.now() + 3600_000);
    expect((await collectFollowUps(gh, repo, { pr: number, bot, since: later })).followUps).toEqual([]);
    // GitHub's times have whole seconds: a review from the same second as `since` (a fast run) still counts.
    const first = collected.followUps[0];
    const sameSecond = new Date(Date.parse(first?.at ?? '') + 999);
    const keys = (await collectFollowUps(gh, repo, { pr: number, bot, since: sameSecond })).followUps.map((f) => f.key);
    expect(keys).toContain(first?.key);
  });

  it('renders each follow-up as plain text for the model: who, where, what', async () => {
    const { owner, name, number, repo } = await prWithFiles();
    await fake.addReview(owner, name, number, {
      user: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'A few things.',
      comments: [
        { path: 'src/a.ts', line: 2, body: 'Rename b to beta' },
        { path: 'src/a.ts', startLine: 4, line: 6, body: 'These three lines\ncan go.' },
        { path: 'src/b.ts', body: 'Add a doc comment' },
      ],
    });
    await fake.addReviewComment(owner, name, number, {
      user: 'alice',
      path: 'src/a.ts',
      line: 5,
      side: 'LEFT',
      body: 'Why?',
    });
    const [batched, single] = (await collectFollowUps(gh, repo, { pr: number, bot })).followUps as [FollowUp, FollowUp];
    expect(renderFollowUp(batched, number)).toBe(
      [
        `@alice reviewed pull request #${number} (requested changes) with 3 comments:`,
        'A few things.',
        '',
        '1. src/a.ts line 2:',
        '   on the diff lines:',
        '   | +a',
        '   | +b',
        '   Rename b to beta',
        '',
        '2. src/a.ts lines 4–6:',
        '   on the diff lines:',
        '   | +d',
        '   | +e',
        '   | +f',
        '   These three lines',
        '   can go.',
        '',
        '3. src/b.ts (the whole file):',
        '   on the diff lines:',
        '   | +export const b = 1;',
        '   Add a doc comment',
      ].join('\n'),
    );
    expect(renderFollowUp(single, number)).toMatch(
      new RegExp(`^@alice commented on pull request #${number}:\\n\\nsrc/a\\.ts line 5 \\(the old version\\):\\n`),
    );
  });
});

describe('postReplies', () => {
  it('replies in each comment’s thread and on the conversation, once, and the bot’s replies never come back', async () => {
    const { owner, name, number, repo } = await prWithFiles();
    const review = await fake.addReview(owner, name, number, {
      user: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'A few things.',
      comments: [
        { path: 'src/a.ts', line: 2, body: 'Rename b' },
        { path: 'src/a.ts', line: 4, body: 'Drop d' },
        { path: 'src/b.ts', line: 1, body: 'Doc it' },
      ],
    });
    const mention = fake.addIssueComment(owner, name, number, { user: 'alice', body: '@dev bump the version' });
    const first = await collectFollowUps(gh, repo, { pr: number, bot });
    expect(first.followUps).toHaveLength(2);
    const [batched, asked] = first.followUps as [FollowUp, FollowUp];
    const firstComment = Number(review.commentIds[0]);
    const posted = await postReplies(gh, repo, number, [
      { to: batched, text: 'Done in abc1234.', perComment: { [firstComment]: 'Renamed `b` to `beta` in abc1234.' } },
      { to: asked, text: 'Bumped to 1.2.0 in abc1234.' },
    ]);
    expect(posted.map((p) => p.key)).toEqual([
      ...review.commentIds.map((id) => `reply:${id}`),
      `comment:${batched.key}`,
      `comment:comment:${mention.id}`,
    ]);
    const threadReplies = fake.reviewComments(owner, name, number).filter((c) => c.user === 'dev');
    expect(threadReplies.map((c) => [c.inReplyToId, c.body])).toEqual([
      [review.commentIds[0], 'Renamed `b` to `beta` in abc1234.'],
      [review.commentIds[1], 'Done in abc1234.'],
      [review.commentIds[2], 'Done in abc1234.'],
    ]);
    const conversation = fake.issueComments(owner, name, number).filter((c) => c.user === 'dev');
    expect(conversation.map((c) => c.body)).toEqual([
      `@alice — about [your review](${batched.url}):\n\nDone in abc1234.`,
      `@alice — about [your comment](${asked.url}):\n\nBumped to 1.2.0 in abc1234.`,
    ]);

    // A retry with what was posted posts nothing again.
    const again = await postReplies(
      gh,
      repo,
      number,
      [
        { to: batched, text: 'x' },
        { to: asked, text: 'x' },
      ],
      {
        alreadyPosted: new Set(posted.map((p) => p.key)),
      },
    );
    expect(again).toEqual([]);

    // The bot's replies are not follow-ups; alice answering in a thread is one, with the thread's start.
    const handled = new Set(first.followUps.map((f) => f.key));
    const botReply = threadReplies[1];
    const answer = await fake.addReviewComment(owner, name, number, {
      user: 'alice',
      body: 'Not quite: keep d.',
      inReplyTo: botReply?.id,
    });
    const next = await collectFollowUps(gh, repo, { pr: number, bot, handled });
    expect(next.followUps).toHaveLength(1);
    const [followUp] = next.followUps;
    expect(followUp?.kind === 'review' && followUp.comments).toEqual([
      expect.objectContaining({
        id: answer.id,
        threadId: review.commentIds[1],
        replyTo: { author: 'alice', body: 'Drop d' },
      }),
    ]);
    expect(followUp && renderFollowUp(followUp, number)).toContain(
      '   (a reply in the thread @alice began with: Drop d)',
    );
    expect(next.ignored.filter((i) => i.reason === 'bot').map((i) => i.author)).toEqual([
      'dev',
      'dev',
      'dev',
      'dev',
      'dev',
    ]);

    // The reply goes to the thread's first comment; a thread deleted meanwhile is skipped, not fatal.
    const replyFollowUp = followUp as Extract<FollowUp, { kind: 'review' }>;
    const [replyComment] = replyFollowUp.comments;
    if (!replyComment) throw new Error('no comment');
    const deleted = { ...replyFollowUp, key: 'review:0', comments: [{ ...replyComment, id: 99, threadId: 999_999 }] };
    const replies = await postReplies(gh, repo, number, [
      { to: replyFollowUp, text: 'Kept d.' },
      { to: deleted, text: 'gone' },
    ]);
    expect(replies.map((r) => r.key)).toEqual([`reply:${answer.id}`]);
    expect(fake.reviewComments(owner, name, number).at(-1)).toMatchObject({
      user: 'dev',
      body: 'Kept d.',
      inReplyToId: review.commentIds[1],
    });
  });

  it('posts as the App’s bot user with an installation token, which is then never a follow-up', async () => {
    const { owner, name, number, repo } = await prWithFiles();
    const identity = await resolveBotIdentity(
      {
        mode: 'app',
        appId: String(APP_ID),
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
      {
        apiUrl: fake.apiUrl,
        octokitFor: octokitFactory({ baseUrl: fake.apiUrl, logger: log.logger, throttle: false }),
      },
    );
    expect(identity).toEqual(appBotIdentity('ai-dev'));
    expect(
      await resolveBotIdentity(
        { mode: 'token', token: TOKEN },
        { apiUrl: fake.apiUrl, octokitFor: (t) => octokitFactory({ baseUrl: fake.apiUrl, logger: log.logger })(t) },
      ),
    ).toEqual(userBotIdentity('dev'));

    const jwt = octokitFactory({ baseUrl: fake.apiUrl, logger: log.logger, throttle: false });
    const auth = createAppAuth({
      appId: APP_ID,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    const { token: appJwt } = await auth({ type: 'app' });
    const minted = await jwt(appJwt).rest.apps.createInstallationAccessToken({
      installation_id: Number(fake.installationId(owner)),
      permissions: { pull_requests: 'write' },
    });
    const asBot = jwt(minted.data.token);
    fake.addIssueComment(owner, name, number, { user: 'alice', body: '@ai-dev please add tests' });
    const { followUps } = await collectFollowUps(asBot, repo, { pr: number, bot: identity });
    expect(followUps).toHaveLength(1);
    await postReplies(asBot, repo, number, [{ to: followUps[0] as FollowUp, text: 'Added tests.' }]);
    expect(fake.issueComments(owner, name, number).at(-1)).toMatchObject({ user: 'ai-dev[bot]', viaApp: 'ai-dev' });
    const again = await collectFollowUps(asBot, repo, { pr: number, bot: identity });
    expect(again.followUps.map((f) => f.author)).toEqual(['alice']);
    expect(again.ignored).toContainEqual(expect.objectContaining({ author: 'ai-dev[bot]', reason: 'bot' }));
  });
});

describe('mentionsBot', () => {
  it('finds @name as a mention, not inside other names, e-mail addresses or paths', () => {
    const app = appBotIdentity('ai-dev');
    expect(mentionsBot(app, '@ai-dev fix it')).toBe(true);
    expect(mentionsBot(app, 'Hey @AI-Dev, fix it.')).toBe(true);
    expect(mentionsBot(app, '(@ai-dev[bot]) please')).toBe(true);
    expect(mentionsBot(app, 'cc @ai-devops')).toBe(false);
    expect(mentionsBot(app, 'mail bot@ai-dev.example')).toBe(false);
    expect(mentionsBot(app, 'see npm/@ai-dev/pkg')).toBe(false);
    expect(mentionsBot(app, 'ai-dev fix')).toBe(false);
  });
});
