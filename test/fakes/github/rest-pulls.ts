import { commitTree, deleteRef, isAncestor, mergeTrees, readCommit, resolveRef, updateRef } from './git.js';
import {
  apiError,
  notFound,
  objectBody,
  optionalString,
  type RouteResult,
  type Router,
  requiredString,
  unprocessable,
} from './http.js';
import { type FakeState, fullName, type RepoRecord, type RestContext } from './state.js';
import type { FakePull, MergePullOptions } from './types.js';

const REPO = '/repos/:owner/:repo';
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

const headInvalid = (field: 'head' | 'base') =>
  unprocessable('', [{ resource: 'PullRequest', field, code: 'invalid' }]);
const custom = (message: string) => unprocessable('', [{ resource: 'PullRequest', code: 'custom', message }]);
const alreadyExists = (repo: RepoRecord, head: string) =>
  custom(`A pull request already exists for ${repo.owner}:${head}.`);

/** Open PRs follow their branch; closed ones keep the sha they had. */
export async function refreshHead(repo: RepoRecord, pull: FakePull): Promise<void> {
  if (pull.state !== 'open') return;
  const sha = await resolveRef(repo.gitDir, `refs/heads/${pull.headRef}`);
  if (sha) pull.headSha = sha;
}

async function pullJson(state: FakeState, repo: RepoRecord, pull: FakePull, full: boolean) {
  await refreshHead(repo, pull);
  const api = `${state.serverUrl}/api/v3/repos/${fullName(repo)}`;
  const html = `${state.serverUrl}/${fullName(repo)}/pull/${pull.number}`;
  const side = (ref: string, sha: string) => ({
    label: `${repo.owner}:${ref}`,
    ref,
    sha,
    user: { login: repo.owner },
    repo: state.repoJson(repo),
  });
  const baseSha = (await resolveRef(repo.gitDir, `refs/heads/${pull.baseRef}`)) ?? '';
  const json: Record<string, unknown> = {
    url: `${api}/pulls/${pull.number}`,
    id: pull.id,
    node_id: Buffer.from(`PullRequest${pull.id}`).toString('base64'),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/issues/${pull.number}`,
    number: pull.number,
    state: pull.state,
    locked: false,
    title: pull.title,
    body: pull.body,
    user: { login: pull.user },
    labels: [],
    created_at: pull.createdAt,
    updated_at: pull.updatedAt,
    closed_at: pull.closedAt,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.mergeCommitSha,
    draft: pull.draft,
    head: side(pull.headRef, pull.headSha),
    base: side(pull.baseRef, baseSha),
  };
  // Like GitHub, only the single-PR shape (get/create/update) carries `merged` & co; lists use `merged_at`.
  if (full) {
    Object.assign(json, {
      merged: pull.merged,
      mergeable: pull.state === 'open' ? true : null,
      mergeable_state: pull.state === 'open' ? 'clean' : 'unknown',
      merged_by: null,
      comments: 0,
    });
  }
  return json;
}

export function findPull(repo: RepoRecord, numberParam: string | undefined): FakePull {
  const pull = repo.pulls.find((candidate) => String(candidate.number) === numberParam);
  if (!pull) throw notFound();
  return pull;
}

/** `owner:branch` or `branch` → branch, when owner is this repo's owner (no forks here). */
function headBranch(repo: RepoRecord, head: string): string | undefined {
  const colon = head.indexOf(':');
  if (colon < 0) return head;
  return head.slice(0, colon).toLowerCase() === repo.owner.toLowerCase() ? head.slice(colon + 1) : undefined;
}

function duplicateOpen(repo: RepoRecord, pull: Pick<FakePull, 'headRef' | 'baseRef'>, except?: FakePull) {
  return repo.pulls.some(
    (other) =>
      other !== except && other.state === 'open' && other.headRef === pull.headRef && other.baseRef === pull.baseRef,
  );
}

async function createPull(ctx: RestContext, repo: RepoRecord): Promise<RouteResult> {
  ctx.state.assertCanWritePulls(ctx.caller, repo);
  const body = objectBody(ctx.body);
  const title = requiredString(body, 'title');
  const headRef = headBranch(repo, requiredString(body, 'head'));
  const baseRef = requiredString(body, 'base');
  if (headRef === undefined) throw headInvalid('head');
  const baseSha = await resolveRef(repo.gitDir, `refs/heads/${baseRef}`);
  if (!baseSha) throw headInvalid('base');
  const headSha = await resolveRef(repo.gitDir, `refs/heads/${headRef}`);
  if (!headSha) throw headInvalid('head');
  if (headRef === baseRef || (await isAncestor(repo.gitDir, headSha, baseSha))) {
    throw custom(`No commits between ${baseRef} and ${headRef}`);
  }
  // Checked after the awaits so two concurrent creates cannot both pass.
  if (duplicateOpen(repo, { headRef, baseRef })) throw alreadyExists(repo, headRef);
  const created = now();
  const pull: FakePull = {
    id: ctx.state.newId(),
    number: repo.pulls.length + 1,
    title,
    body: optionalString(body, 'body') ?? null,
    state: 'open',
    draft: body.draft === true,
    merged: false,
    mergedAt: null,
    mergeCommitSha: null,
    closedAt: null,
    createdAt: created,
    updatedAt: created,
    headRef,
    headSha,
    baseRef,
    user: ctx.caller.login,
  };
  repo.pulls.push(pull);
  const json = await pullJson(ctx.state, repo, pull, true);
  return { status: 201, body: json, headers: { location: String(json.url) } };
}

async function listPulls(ctx: RestContext, repo: RepoRecord): Promise<RouteResult> {
  const state = ctx.query.get('state') ?? 'open';
  const head = ctx.query.get('head');
  const base = ctx.query.get('base');
  const headRef = head ? headBranch(repo, head) : undefined;
  let pulls = repo.pulls.filter(
    (pull) =>
      (state === 'all' || pull.state === state) &&
      (!head || pull.headRef === headRef) &&
      (!base || pull.baseRef === base),
  );
  pulls = ctx.query.get('direction') === 'asc' ? pulls : [...pulls].reverse();
  const perPage = Math.min(Math.max(Number(ctx.query.get('per_page') ?? 30) || 30, 1), 100);
  const page = Math.max(Number(ctx.query.get('page') ?? 1) || 1, 1);
  const slice = pulls.slice((page - 1) * perPage, page * perPage);
  const headers: Record<string, string> = {};
  if (page * perPage < pulls.length) {
    const next = new URLSearchParams(ctx.query);
    next.set('page', String(page + 1));
    next.set('per_page', String(perPage));
    headers.link = `<${ctx.state.serverUrl}/api/v3/repos/${fullName(repo)}/pulls?${next}>; rel="next"`;
  }
  const body = await Promise.all(slice.map((pull) => pullJson(ctx.state, repo, pull, false)));
  return { status: 200, body, headers };
}

async function updatePull(ctx: RestContext, repo: RepoRecord, pull: FakePull): Promise<RouteResult> {
  ctx.state.assertCanWritePulls(ctx.caller, repo);
  const body = objectBody(ctx.body);
  const title = optionalString(body, 'title');
  const newState = optionalString(body, 'state');
  const baseRef = optionalString(body, 'base');
  if (newState !== undefined && newState !== 'open' && newState !== 'closed') {
    throw unprocessable('', [{ resource: 'PullRequest', field: 'state', code: 'invalid' }]);
  }
  if (baseRef !== undefined && !(await resolveRef(repo.gitDir, `refs/heads/${baseRef}`))) throw headInvalid('base');
  if (newState === 'open' && pull.state === 'closed') {
    if (pull.merged)
      throw custom('state cannot be changed. The pull request cannot be reopened because it was merged.');
    if (!(await resolveRef(repo.gitDir, `refs/heads/${pull.headRef}`))) {
      throw custom(`state cannot be changed. The ${pull.headRef} branch has been deleted.`);
    }
    if (duplicateOpen(repo, { headRef: pull.headRef, baseRef: baseRef ?? pull.baseRef }, pull)) {
      throw alreadyExists(repo, pull.headRef);
    }
  }
  if (title !== undefined) pull.title = title;
  if ('body' in body) pull.body = optionalString(body, 'body') ?? null;
  if (baseRef !== undefined) pull.baseRef = baseRef;
  if (newState === 'closed' && pull.state === 'open') closePullRecord(repo, pull);
  else if (newState === 'open' && pull.state === 'closed') {
    pull.state = 'open';
    pull.closedAt = null;
  }
  pull.updatedAt = now();
  return { status: 200, body: await pullJson(ctx.state, repo, pull, true) };
}

export function closePullRecord(_repo: RepoRecord, pull: FakePull): void {
  if (pull.state === 'closed') return;
  pull.state = 'closed';
  pull.closedAt = now();
  pull.updatedAt = pull.closedAt;
}

/** Merges for real: a merge (or squash) commit on the base branch, like the green button. */
export async function mergePullRecord(
  repo: RepoRecord,
  pull: FakePull,
  options: MergePullOptions = {},
): Promise<string> {
  if (pull.state !== 'open') throw apiError(405, 'Pull Request is not mergeable');
  const { gitDir } = repo;
  const headSha = await resolveRef(gitDir, `refs/heads/${pull.headRef}`);
  const baseSha = await resolveRef(gitDir, `refs/heads/${pull.baseRef}`);
  if (!headSha || !baseSha) throw apiError(405, 'Pull Request is not mergeable');
  const headCommit = await readCommit(gitDir, headSha);
  const tree = (await isAncestor(gitDir, baseSha, headSha))
    ? headCommit?.tree
    : await mergeTrees(gitDir, baseSha, headSha);
  if (!tree) throw apiError(405, 'Merge conflict');
  const squash = options.method === 'squash';
  const message = squash
    ? `${pull.title} (#${pull.number})${pull.body ? `\n\n${pull.body}` : ''}`
    : `Merge pull request #${pull.number} from ${repo.owner}/${pull.headRef}\n\n${pull.title}`;
  const login = options.login ?? 'octocat';
  const committer = { name: login, email: `${login}@users.noreply.github.com` };
  const sha = await commitTree(gitDir, {
    tree,
    parents: squash ? [baseSha] : [baseSha, headSha],
    message,
    author: squash ? headCommit?.author : committer,
    committer,
  });
  if (!(await updateRef(gitDir, `refs/heads/${pull.baseRef}`, sha, baseSha))) {
    throw apiError(409, 'Base branch was modified. Review and try the merge again.');
  }
  pull.headSha = headSha;
  closePullRecord(repo, pull);
  pull.merged = true;
  pull.mergedAt = pull.closedAt;
  pull.mergeCommitSha = sha;
  if (options.deleteBranch) await deleteRef(gitDir, `refs/heads/${pull.headRef}`);
  return sha;
}

export function registerPullRoutes(router: Router<RestContext>): void {
  const repoOf = (ctx: RestContext, p: Record<string, string>) =>
    ctx.state.visibleRepo(ctx.caller, p.owner ?? '', p.repo ?? '');

  router.add('GET', `${REPO}/pulls`, (ctx, p) => listPulls(ctx, repoOf(ctx, p)));
  router.add('POST', `${REPO}/pulls`, (ctx, p) => createPull(ctx, repoOf(ctx, p)));
  router.add('GET', `${REPO}/pulls/:number`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    return { status: 200, body: await pullJson(ctx.state, repo, findPull(repo, p.number), true) };
  });
  router.add('PATCH', `${REPO}/pulls/:number`, (ctx, p) => {
    const repo = repoOf(ctx, p);
    return updatePull(ctx, repo, findPull(repo, p.number));
  });
  router.add('PUT', `${REPO}/pulls/:number/merge`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    const pull = findPull(repo, p.number);
    ctx.state.assertCanWrite(ctx.caller, repo);
    if (pull.draft) throw apiError(405, 'Pull Request is still a draft');
    const body = objectBody(ctx.body);
    const method = optionalString(body, 'merge_method') === 'squash' ? 'squash' : 'merge';
    const sha = await mergePullRecord(repo, pull, { method, login: ctx.caller.login });
    return { status: 200, body: { sha, merged: true, message: 'Pull Request successfully merged' } };
  });
}
