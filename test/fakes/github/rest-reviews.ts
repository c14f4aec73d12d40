import { lsTreeSized, readObject } from './git.js';
import {
  apiError,
  isoNow,
  notFound,
  objectBody,
  paginate,
  type RouteResult,
  type Router,
  requiredString,
  unprocessable,
} from './http.js';
import { appJson } from './rest-app.js';
import { findPull, refreshHead } from './rest-pulls.js';
import {
  type Caller,
  type FakeState,
  fullName,
  grants,
  type IssueCommentRecord,
  notAccessible,
  type RepoRecord,
  type RestContext,
  type ReviewCommentRecord,
  type ReviewRecord,
  type UserRef,
} from './state.js';
import type {
  AuthorAssociation,
  FakeIssueComment,
  FakePull,
  FakeReview,
  FakeReviewComment,
  FakeUserRef,
  IssueCommentSpec,
  RepoRole,
  ReviewCommentSpec,
  ReviewSpec,
} from './types.js';

const REPO = '/repos/:owner/:repo';

const api = (state: FakeState, repo: RepoRecord) => `${state.serverUrl}/api/v3/repos/${fullName(repo)}`;
const html = (state: FakeState, repo: RepoRecord) => `${state.serverUrl}/${fullName(repo)}`;

export function userRef(user: FakeUserRef): UserRef {
  if (typeof user === 'string') return { login: user, type: user.endsWith('[bot]') ? 'Bot' : 'User' };
  return { login: user.login, type: user.type ?? (user.login.endsWith('[bot]') ? 'Bot' : 'User') };
}

/** The association GitHub would show (simplified: no org membership or contribution history). */
export function associationOf(repo: RepoRecord, user: UserRef): AuthorAssociation {
  if (user.type === 'Bot') return 'NONE';
  if (user.login.toLowerCase() === repo.owner.toLowerCase()) return 'OWNER';
  if (repo.collaborators.has(user.login.toLowerCase())) return 'COLLABORATOR';
  return 'NONE';
}

const reactions = (url: string) => ({
  url,
  total_count: 0,
  '+1': 0,
  '-1': 0,
  laugh: 0,
  hooray: 0,
  confused: 0,
  heart: 0,
  rocket: 0,
  eyes: 0,
});

export function reviewJson(state: FakeState, repo: RepoRecord, review: ReviewRecord) {
  const htmlUrl = `${html(state, repo)}/pull/${review.pullNumber}#pullrequestreview-${review.id}`;
  const pullUrl = `${api(state, repo)}/pulls/${review.pullNumber}`;
  return {
    id: review.id,
    node_id: Buffer.from(`PullRequestReview${review.id}`).toString('base64'),
    user: state.userJson(review.user.login, review.user.type),
    body: review.body,
    state: review.state,
    html_url: htmlUrl,
    pull_request_url: pullUrl,
    author_association: review.association,
    _links: { html: { href: htmlUrl }, pull_request: { href: pullUrl } },
    submitted_at: review.state === 'PENDING' ? undefined : review.submittedAt,
    commit_id: review.commitId,
  };
}

export function reviewCommentJson(state: FakeState, repo: RepoRecord, comment: ReviewCommentRecord) {
  const self = `${api(state, repo)}/pulls/comments/${comment.id}`;
  const htmlUrl = `${html(state, repo)}/pull/${comment.pullNumber}#discussion_r${comment.id}`;
  const pullUrl = `${api(state, repo)}/pulls/${comment.pullNumber}`;
  return {
    url: self,
    pull_request_review_id: comment.reviewId,
    id: comment.id,
    node_id: Buffer.from(`PullRequestReviewComment${comment.id}`).toString('base64'),
    diff_hunk: comment.diffHunk,
    path: comment.path,
    position: comment.line ?? 1,
    original_position: comment.line ?? 1,
    commit_id: comment.commitId,
    original_commit_id: comment.commitId,
    ...(comment.inReplyToId === undefined ? {} : { in_reply_to_id: comment.inReplyToId }),
    user: state.userJson(comment.user.login, comment.user.type),
    body: comment.body,
    created_at: comment.createdAt,
    updated_at: comment.createdAt,
    html_url: htmlUrl,
    pull_request_url: pullUrl,
    author_association: comment.association,
    _links: { self: { href: self }, html: { href: htmlUrl }, pull_request: { href: pullUrl } },
    reactions: reactions(`${self}/reactions`),
    start_line: comment.startLine,
    original_start_line: comment.startLine,
    start_side: comment.startLine === null ? null : comment.side,
    line: comment.line,
    original_line: comment.line,
    side: comment.side,
    subject_type: (comment.line === null ? 'file' : 'line') as 'file' | 'line',
  };
}

export function issueCommentJson(state: FakeState, repo: RepoRecord, comment: IssueCommentRecord) {
  const self = `${api(state, repo)}/issues/comments/${comment.id}`;
  return {
    id: comment.id,
    node_id: Buffer.from(`IssueComment${comment.id}`).toString('base64'),
    url: self,
    html_url: `${html(state, repo)}/pull/${comment.number}#issuecomment-${comment.id}`,
    body: comment.body,
    user: state.userJson(comment.user.login, comment.user.type),
    created_at: comment.createdAt,
    updated_at: comment.createdAt,
    issue_url: `${api(state, repo)}/issues/${comment.number}`,
    author_association: comment.association,
    performed_via_github_app: comment.viaApp ? appJson(state) : null,
    reactions: reactions(`${self}/reactions`),
  };
}

/** A small diff hunk ending at the commented line (GitHub sends the real diff context; this is approximate). */
async function diffHunk(repo: RepoRecord, commitId: string, path: string, line: number | null): Promise<string> {
  const entry = (await lsTreeSized(repo.gitDir, commitId, path))?.get(path);
  const text = entry?.type === 'blob' ? ((await readObject(repo.gitDir, entry.sha))?.toString('utf8') ?? '') : '';
  const lines = text.split('\n');
  const last = Math.min(line ?? 1, Math.max(lines.length, 1));
  const first = Math.max(last - 3, 1);
  const body = lines.slice(first - 1, last).map((content) => `+${content}`);
  return [`@@ -0,0 +${first},${body.length} @@`, ...body].join('\n');
}

function requirePull(repo: RepoRecord, number: number): FakePull {
  const pull = repo.pulls.find((candidate) => candidate.number === number);
  if (!pull) throw new Error(`no pull request #${number} in ${fullName(repo)}`);
  return pull;
}

async function newReviewComment(
  state: FakeState,
  repo: RepoRecord,
  pull: FakePull,
  spec: ReviewCommentSpec & { reviewId: number; commitId: string },
): Promise<ReviewCommentRecord> {
  const user = userRef(spec.user);
  let { path, line, startLine, side } = spec;
  let commitId = spec.commitId;
  let inReplyToId: number | undefined;
  if (spec.inReplyTo !== undefined) {
    const parent = repo.reviewComments.find((c) => c.id === spec.inReplyTo && c.pullNumber === pull.number);
    if (!parent) throw notFound();
    // (unverified) replying to a reply joins the thread's top-level comment.
    inReplyToId = parent.inReplyToId ?? parent.id;
    ({ path, commitId } = parent);
    line = parent.line ?? undefined;
    startLine = parent.startLine ?? undefined;
    side = parent.side;
  }
  if (!path) throw new Error('a review comment needs a path (or inReplyTo)');
  const comment: ReviewCommentRecord = {
    id: state.newId(),
    pullNumber: pull.number,
    reviewId: spec.reviewId,
    user,
    body: spec.body,
    path,
    line: line ?? null,
    startLine: startLine ?? null,
    side: side ?? 'RIGHT',
    commitId,
    diffHunk: await diffHunk(repo, commitId, path, line ?? null),
    inReplyToId,
    association: spec.association ?? associationOf(repo, user),
    createdAt: isoNow(),
  };
  repo.reviewComments.push(comment);
  return comment;
}

function reviewSnapshot(repo: RepoRecord, review: ReviewRecord): FakeReview {
  return {
    id: review.id,
    pullNumber: review.pullNumber,
    user: review.user.login,
    state: review.state,
    body: review.body,
    commitId: review.commitId,
    association: review.association,
    commentIds: repo.reviewComments.filter((c) => c.reviewId === review.id).map((c) => c.id),
  };
}

export function reviewCommentSnapshot(comment: ReviewCommentRecord): FakeReviewComment {
  return {
    id: comment.id,
    pullNumber: comment.pullNumber,
    reviewId: comment.reviewId,
    user: comment.user.login,
    body: comment.body,
    path: comment.path,
    line: comment.line,
    ...(comment.inReplyToId === undefined ? {} : { inReplyToId: comment.inReplyToId }),
    association: comment.association,
  };
}

export function issueCommentSnapshot(state: FakeState, comment: IssueCommentRecord): FakeIssueComment {
  return {
    id: comment.id,
    number: comment.number,
    user: comment.user.login,
    body: comment.body,
    association: comment.association,
    ...(comment.viaApp ? { viaApp: state.app?.slug ?? 'fake-app' } : {}),
  };
}

async function newReview(state: FakeState, repo: RepoRecord, pull: FakePull, spec: ReviewSpec): Promise<ReviewRecord> {
  await refreshHead(repo, pull);
  const user = userRef(spec.user);
  const review: ReviewRecord = {
    id: state.newId(),
    pullNumber: pull.number,
    user,
    state: spec.state,
    body: spec.body ?? '',
    commitId: spec.commitId ?? pull.headSha,
    association: spec.association ?? associationOf(repo, user),
    submittedAt: isoNow(),
  };
  // GitHub submits a review and its comments at once: they are staged and become visible together, so a
  // reader polling meanwhile never sees half a review.
  const known = repo.reviewComments.length;
  const staged: RepoRecord = { ...repo, reviewComments: [...repo.reviewComments] };
  for (const comment of spec.comments ?? []) {
    await newReviewComment(state, staged, pull, {
      ...comment,
      user: spec.user,
      association: review.association,
      reviewId: review.id,
      commitId: review.commitId,
    });
  }
  repo.reviewComments.push(...staged.reviewComments.slice(known));
  repo.reviews.push(review);
  return review;
}

/** Test API: a person (or bot) submits a review, with optional inline comments. */
export async function addReviewRecord(
  state: FakeState,
  repo: RepoRecord,
  number: number,
  spec: ReviewSpec,
): Promise<FakeReview> {
  return reviewSnapshot(repo, await newReview(state, repo, requirePull(repo, number), spec));
}

/** Test API: a single review comment (a reply when `inReplyTo` is set); it comes with its own COMMENTED review. */
export async function addReviewCommentRecord(
  state: FakeState,
  repo: RepoRecord,
  number: number,
  spec: ReviewCommentSpec,
): Promise<FakeReviewComment> {
  const pull = requirePull(repo, number);
  const review = await newReview(state, repo, pull, {
    user: spec.user,
    state: 'COMMENTED',
    association: spec.association,
  });
  const comment = await newReviewComment(state, repo, pull, {
    ...spec,
    reviewId: review.id,
    commitId: review.commitId,
  });
  return reviewCommentSnapshot(comment);
}

/** Test API: a conversation comment on the PR. */
export function addIssueCommentRecord(
  state: FakeState,
  repo: RepoRecord,
  number: number,
  spec: IssueCommentSpec,
): FakeIssueComment {
  requirePull(repo, number);
  const user = userRef(spec.user);
  const comment: IssueCommentRecord = {
    id: state.newId(),
    number,
    user,
    body: spec.body,
    association: spec.association ?? associationOf(repo, user),
    viaApp: false,
    createdAt: isoNow(),
  };
  repo.issueComments.push(comment);
  return issueCommentSnapshot(state, comment);
}

export function reviewSnapshots(repo: RepoRecord, number: number): FakeReview[] {
  return repo.reviews.filter((r) => r.pullNumber === number).map((r) => reviewSnapshot(repo, r));
}

/** Who the caller is on comments: installation tokens post as `<slug>[bot]`. */
function callerUser(caller: Caller): UserRef {
  return { login: caller.login, type: caller.kind === 'installation' ? 'Bot' : 'User' };
}

/** Legacy `permission` for a role: maintain counts as write, triage as read (GitHub's REST docs). */
const LEGACY: Record<RepoRole | 'none', string> = {
  admin: 'admin',
  maintain: 'write',
  write: 'write',
  triage: 'read',
  read: 'read',
  none: 'none',
};

function collaboratorPermission(ctx: RestContext, repo: RepoRecord, username: string): RouteResult {
  const known = repo.collaborators.get(username.toLowerCase());
  // (unverified) the owner is admin; people with no role read public repos and get `none` on private ones.
  const role: RepoRole | 'none' =
    known?.role ?? (username.toLowerCase() === repo.owner.toLowerCase() ? 'admin' : repo.private ? 'none' : 'read');
  const login = known?.login ?? username;
  const at = (wanted: RepoRole) => {
    const rank: Record<RepoRole | 'none', number> = { none: 0, read: 1, triage: 2, write: 3, maintain: 4, admin: 5 };
    return rank[role] >= rank[wanted];
  };
  return {
    status: 200,
    body: {
      permission: LEGACY[role],
      role_name: role,
      user: {
        ...ctx.state.userJson(login),
        permissions: {
          admin: at('admin'),
          maintain: at('maintain'),
          push: at('write'),
          triage: at('triage'),
          pull: at('read'),
        },
        role_name: role,
      },
    },
  };
}

/** Issue comments on a PR: installation tokens need `issues` or `pull_requests` (write to post). */
function assertIssueAccess(caller: Caller, repo: RepoRecord, level: 'read' | 'write'): void {
  if (!caller.permissions) return;
  if (level === 'read' && !repo.private) return;
  if (!grants(caller.permissions, 'issues', level) && !grants(caller.permissions, 'pull_requests', level)) {
    throw notAccessible(caller);
  }
}

function assertPullWrite(caller: Caller, repo: RepoRecord): void {
  if (caller.permissions && !grants(caller.permissions, 'pull_requests', 'write')) throw notAccessible(caller);
  if (repo.archived) throw apiError(403, 'Repository was archived so is read-only.');
}

function since(ctx: RestContext): (createdAt: string) => boolean {
  const value = ctx.query.get('since');
  return (createdAt) => !value || createdAt >= value;
}

export function registerReviewRoutes(router: Router<RestContext>): void {
  const repoFor = (ctx: RestContext, p: Record<string, string>, permission?: string) => {
    const repo = ctx.state.visibleRepo(ctx.caller, p.owner ?? '', p.repo ?? '');
    if (permission) ctx.state.assertCanRead(ctx.caller, repo, permission);
    return repo;
  };

  router.add('GET', `${REPO}/pulls/:number/reviews`, (ctx, p) => {
    const repo = repoFor(ctx, p, 'pull_requests');
    const pull = findPull(repo, p.number);
    const reviews = repo.reviews.filter((review) => review.pullNumber === pull.number);
    const page = paginate(ctx.query, reviews, `${api(ctx.state, repo)}/pulls/${pull.number}/reviews`);
    return { status: 200, body: page.items.map((r) => reviewJson(ctx.state, repo, r)), headers: page.headers };
  });

  router.add('GET', `${REPO}/pulls/:number/reviews/:review`, (ctx, p) => {
    const repo = repoFor(ctx, p, 'pull_requests');
    const pull = findPull(repo, p.number);
    const review = repo.reviews.find((r) => r.pullNumber === pull.number && String(r.id) === p.review);
    if (!review) throw notFound();
    return { status: 200, body: reviewJson(ctx.state, repo, review) };
  });

  router.add('GET', `${REPO}/pulls/:number/reviews/:review/comments`, (ctx, p) => {
    const repo = repoFor(ctx, p, 'pull_requests');
    const pull = findPull(repo, p.number);
    const review = repo.reviews.find((r) => r.pullNumber === pull.number && String(r.id) === p.review);
    if (!review) throw notFound();
    const comments = repo.reviewComments.filter((c) => c.reviewId === review.id);
    const page = paginate(
      ctx.query,
      comments,
      `${api(ctx.state, repo)}/pulls/${pull.number}/reviews/${review.id}/comments`,
    );
    return { status: 200, body: page.items.map((c) => reviewCommentJson(ctx.state, repo, c)), headers: page.headers };
  });

  router.add('GET', `${REPO}/pulls/:number/comments`, (ctx, p) => {
    const repo = repoFor(ctx, p, 'pull_requests');
    const pull = findPull(repo, p.number);
    const after = since(ctx);
    let comments = repo.reviewComments.filter((c) => c.pullNumber === pull.number && after(c.createdAt));
    if (ctx.query.get('sort') && ctx.query.get('direction') === 'desc') comments = [...comments].reverse();
    const page = paginate(ctx.query, comments, `${api(ctx.state, repo)}/pulls/${pull.number}/comments`);
    return { status: 200, body: page.items.map((c) => reviewCommentJson(ctx.state, repo, c)), headers: page.headers };
  });

  router.add('GET', `${REPO}/pulls/comments/:id`, (ctx, p) => {
    const repo = repoFor(ctx, p, 'pull_requests');
    const comment = repo.reviewComments.find((c) => String(c.id) === p.id);
    if (!comment) throw notFound();
    return { status: 200, body: reviewCommentJson(ctx.state, repo, comment) };
  });

  router.add('POST', `${REPO}/pulls/:number/comments/:id/replies`, async (ctx, p) => {
    const repo = repoFor(ctx, p);
    const pull = findPull(repo, p.number);
    assertPullWrite(ctx.caller, repo);
    const body = requiredString(objectBody(ctx.body), 'body');
    if (!repo.reviewComments.some((c) => String(c.id) === p.id && c.pullNumber === pull.number)) throw notFound();
    const user = callerUser(ctx.caller);
    const review = await newReview(ctx.state, repo, pull, { user, state: 'COMMENTED' });
    const comment = await newReviewComment(ctx.state, repo, pull, {
      user,
      body,
      inReplyTo: Number(p.id),
      reviewId: review.id,
      commitId: review.commitId,
    });
    const json = reviewCommentJson(ctx.state, repo, comment);
    return { status: 201, body: json, headers: { location: json.url } };
  });

  router.add('GET', `${REPO}/issues/:number/comments`, (ctx, p) => {
    const repo = repoFor(ctx, p);
    assertIssueAccess(ctx.caller, repo, 'read');
    const pull = findPull(repo, p.number); // the fake's only issues are its pull requests
    const after = since(ctx);
    const comments = repo.issueComments.filter((c) => c.number === pull.number && after(c.createdAt));
    const page = paginate(ctx.query, comments, `${api(ctx.state, repo)}/issues/${pull.number}/comments`);
    return { status: 200, body: page.items.map((c) => issueCommentJson(ctx.state, repo, c)), headers: page.headers };
  });

  router.add('GET', `${REPO}/issues/comments/:id`, (ctx, p) => {
    const repo = repoFor(ctx, p);
    assertIssueAccess(ctx.caller, repo, 'read');
    const comment = repo.issueComments.find((c) => String(c.id) === p.id);
    if (!comment) throw notFound();
    return { status: 200, body: issueCommentJson(ctx.state, repo, comment) };
  });

  router.add('POST', `${REPO}/issues/:number/comments`, (ctx, p) => {
    const repo = repoFor(ctx, p);
    const pull = findPull(repo, p.number);
    assertIssueAccess(ctx.caller, repo, 'write');
    if (repo.archived) throw apiError(403, 'Repository was archived so is read-only.');
    const text = requiredString(objectBody(ctx.body), 'body');
    if (text.trim() === '') {
      throw unprocessable('', [{ resource: 'IssueComment', field: 'body', code: 'missing_field' }]);
    }
    const user = callerUser(ctx.caller);
    const comment: IssueCommentRecord = {
      id: ctx.state.newId(),
      number: pull.number,
      user,
      body: text,
      association: associationOf(repo, user),
      viaApp: ctx.caller.kind === 'installation',
      createdAt: isoNow(),
    };
    repo.issueComments.push(comment);
    const json = issueCommentJson(ctx.state, repo, comment);
    return { status: 201, body: json, headers: { location: json.url } };
  });

  router.add('GET', `${REPO}/collaborators/:username/permission`, (ctx, p) =>
    collaboratorPermission(ctx, repoFor(ctx, p), p.username ?? ''),
  );
}
