import {
  type CommitInfo,
  commitTree,
  deleteRef,
  hashObject,
  isAncestor,
  isValidRefName,
  listRefs,
  lsTree,
  lsTreeRecursive,
  objectType,
  objectTypes,
  readCommit,
  readObject,
  resolveRef,
  SHA_RE,
  type TreeEntry,
  updateRef,
  writeTree,
} from './git.js';
import {
  apiError,
  invalidField,
  notFound,
  objectBody,
  optionalString,
  type RouteResult,
  type Router,
  requiredString,
  unprocessable,
} from './http.js';
import { type Caller, fullName, type RepoRecord, type RestContext } from './state.js';
import { changedWorkflowPaths, mayWriteWorkflows, workflowChangesOfRefUpdate } from './workflows.js';

const REPO = '/repos/:owner/:repo';
const MODES: Record<string, TreeEntry['type']> = {
  '100644': 'blob',
  '100755': 'blob',
  '120000': 'blob',
  '040000': 'tree',
  '160000': 'commit',
};

export function apiBase(ctx: RestContext, repo: RepoRecord): string {
  return `${ctx.state.serverUrl}/api/v3/repos/${fullName(repo)}`;
}

function refJson(ctx: RestContext, repo: RepoRecord, fullRef: string, sha: string) {
  const base = apiBase(ctx, repo);
  return {
    ref: fullRef,
    node_id: Buffer.from(`Ref:${fullRef}`).toString('base64'),
    url: `${base}/git/${fullRef}`,
    object: { sha, type: 'commit', url: `${base}/git/commits/${sha}` },
  };
}

export function commitJson(ctx: RestContext, repo: RepoRecord, commit: CommitInfo) {
  const base = apiBase(ctx, repo);
  return {
    sha: commit.sha,
    node_id: Buffer.from(`Commit:${commit.sha}`).toString('base64'),
    url: `${base}/git/commits/${commit.sha}`,
    html_url: `${ctx.state.serverUrl}/${fullName(repo)}/commit/${commit.sha}`,
    author: commit.author,
    committer: commit.committer,
    tree: { sha: commit.tree, url: `${base}/git/trees/${commit.tree}` },
    message: commit.message,
    parents: commit.parents.map((sha) => ({
      sha,
      url: `${base}/git/commits/${sha}`,
      html_url: `${ctx.state.serverUrl}/${fullName(repo)}/commit/${sha}`,
    })),
    verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
  };
}

function person(value: unknown, field: string): { name?: string; email?: string; date?: string } | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') throw invalidField(field, value, 'object');
  const record = value as Record<string, unknown>;
  const name = requiredString(record, 'name');
  const email = requiredString(record, 'email');
  return { name, email, date: optionalString(record, 'date') };
}

function checkPath(path: string): void {
  const parts = path.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..' || part.toLowerCase() === '.git')) {
    throw unprocessable(`tree.path contains a malformed path component: ${JSON.stringify(path)}`);
  }
}

async function createTree(ctx: RestContext, repo: RepoRecord): Promise<RouteResult> {
  ctx.state.assertCanWrite(ctx.caller, repo);
  const body = objectBody(ctx.body);
  const baseTree = optionalString(body, 'base_tree');
  if (!Array.isArray(body.tree)) throw invalidField('tree', body.tree, 'array');
  const { gitDir } = repo;
  if (baseTree !== undefined && (await objectType(gitDir, baseTree)) !== 'tree') {
    throw unprocessable('', [{ resource: 'Tree', field: 'base_tree', code: 'invalid', message: 'Invalid base_tree' }]);
  }
  const entries = baseTree ? await lsTreeRecursive(gitDir, baseTree) : new Map<string, TreeEntry>();
  const removeAt = (path: string) => {
    entries.delete(path);
    for (const existing of [...entries.keys()]) if (existing.startsWith(`${path}/`)) entries.delete(existing);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) entries.delete(parts.slice(0, i).join('/'));
  };
  for (const raw of body.tree as unknown[]) {
    if (typeof raw !== 'object' || raw === null) throw invalidField('tree', raw, 'object');
    const item = raw as Record<string, unknown>;
    const path = requiredString(item, 'path');
    checkPath(path);
    const mode = requiredString(item, 'mode');
    const type = MODES[mode];
    if (!type) throw unprocessable(`tree.mode contains an invalid value: ${JSON.stringify(mode)}`);
    if (item.type !== undefined && item.type !== type)
      throw unprocessable(`tree.type ${item.type} does not match mode ${mode}`);
    const hasContent = item.content !== undefined && item.content !== null;
    if (item.sha === null && !hasContent) {
      removeAt(path);
      continue;
    }
    if (hasContent && item.sha !== undefined)
      throw unprocessable('Must supply either tree.sha or tree.content, not both');
    if (hasContent) {
      if (type !== 'blob') throw unprocessable('tree.content can only be used with blob entries');
      const sha = await hashObject(gitDir, requiredString(item, 'content'));
      removeAt(path);
      entries.set(path, { mode, type, sha });
      continue;
    }
    const sha = requiredString(item, 'sha');
    if (!SHA_RE.test(sha)) throw unprocessable(`tree.sha ${sha} is not a valid sha`);
    if (type !== 'commit' && (await objectType(gitDir, sha)) !== type) {
      throw unprocessable('', [
        { resource: 'Tree', field: 'sha', code: 'invalid', message: `tree.sha ${sha} is not a valid ${type}` },
      ]);
    }
    removeAt(path);
    if (type === 'tree') {
      for (const [sub, entry] of await lsTreeRecursive(gitDir, sha)) entries.set(`${path}/${sub}`, entry);
    } else {
      entries.set(path, { mode, type, sha });
    }
  }
  const sha = await writeTree(gitDir, ctx.state.scratchDir, entries);
  // Without the workflow permission GitHub answers a tree that adds, changes or deletes workflow
  // files with 404 (see workflows.ts).
  if (!mayWriteWorkflows(ctx.caller) && (await changedWorkflowPaths(gitDir, baseTree, sha)).length > 0) {
    throw notFound();
  }
  return { status: 201, body: await treeJson(ctx, repo, sha, false) };
}

/** Creating or moving a ref onto a commit with different workflow files needs the workflow permission. */
async function assertWorkflowsUnchanged(caller: Caller, repo: RepoRecord, current: string | undefined, sha: string) {
  if (mayWriteWorkflows(caller)) return;
  if ((await workflowChangesOfRefUpdate(repo, current, sha)).length > 0) throw notFound();
}

async function treeJson(ctx: RestContext, repo: RepoRecord, sha: string, recursive: boolean) {
  const base = apiBase(ctx, repo);
  const listing = await lsTree(repo.gitDir, sha, recursive);
  return {
    sha,
    url: `${base}/git/trees/${sha}`,
    tree: [...listing].map(([path, entry]) => ({
      path,
      mode: entry.mode,
      type: entry.type,
      sha: entry.sha,
      url: entry.type === 'commit' ? undefined : `${base}/git/${entry.type}s/${entry.sha}`,
    })),
    truncated: false,
  };
}

async function createCommit(ctx: RestContext, repo: RepoRecord): Promise<RouteResult> {
  ctx.state.assertCanWrite(ctx.caller, repo);
  const body = objectBody(ctx.body);
  const message = requiredString(body, 'message');
  const tree = requiredString(body, 'tree');
  const parents = body.parents ?? [];
  if (!Array.isArray(parents) || parents.some((parent) => typeof parent !== 'string')) {
    throw invalidField('parents', parents, 'array of strings');
  }
  const types = await objectTypes(repo.gitDir, [tree, ...(parents as string[])]);
  if (types.get(tree) !== 'tree') throw unprocessable('Tree SHA does not exist');
  for (const parent of parents as string[]) {
    if (types.get(parent) !== 'commit') throw unprocessable('Parent SHA does not exist or is not a commit object');
  }
  const fallback = { name: ctx.caller.login, email: `${ctx.caller.login}@users.noreply.github.com` };
  const author = person(body.author, 'author') ?? fallback;
  const committer = person(body.committer, 'committer') ?? author;
  const sha = await commitTree(repo.gitDir, { tree, parents: parents as string[], message, author, committer });
  const info = await readCommit(repo.gitDir, sha);
  if (!info) throw new Error(`commit ${sha} vanished`);
  return { status: 201, body: commitJson(ctx, repo, info) };
}

async function createRef(ctx: RestContext, repo: RepoRecord): Promise<RouteResult> {
  ctx.state.assertCanWrite(ctx.caller, repo);
  const body = objectBody(ctx.body);
  const ref = requiredString(body, 'ref');
  const sha = requiredString(body, 'sha');
  if (!ref.startsWith('refs/') || ref.split('/').length < 3 || !(await isValidRefName(ref))) {
    throw unprocessable('Reference name is invalid');
  }
  if (!SHA_RE.test(sha) || !(await objectType(repo.gitDir, sha))) throw unprocessable('Object does not exist');
  if ((await resolveRef(repo.gitDir, ref)) !== undefined) throw unprocessable('Reference already exists');
  await assertWorkflowsUnchanged(ctx.caller, repo, undefined, sha);
  if (!(await updateRef(repo.gitDir, ref, sha, null))) {
    throw unprocessable('Reference already exists');
  }
  return { status: 201, body: refJson(ctx, repo, ref, sha) };
}

async function moveRef(ctx: RestContext, repo: RepoRecord, ref: string): Promise<RouteResult> {
  ctx.state.assertCanWrite(ctx.caller, repo);
  const body = objectBody(ctx.body);
  const sha = requiredString(body, 'sha');
  const force = body.force === true;
  const fullRef = `refs/${ref}`;
  const current = await resolveRef(repo.gitDir, fullRef);
  if (current === undefined) throw unprocessable('Reference does not exist');
  const type = SHA_RE.test(sha) ? await objectType(repo.gitDir, sha) : undefined;
  if (!type) throw unprocessable('Object does not exist');
  if (!force && (type !== 'commit' || !(await isAncestor(repo.gitDir, current, sha)))) {
    throw unprocessable('Update is not a fast forward');
  }
  await assertWorkflowsUnchanged(ctx.caller, repo, current, sha);
  if (!(await updateRef(repo.gitDir, fullRef, sha, current))) throw unprocessable('Reference cannot be updated');
  return { status: 200, body: refJson(ctx, repo, fullRef, sha) };
}

async function branchJson(ctx: RestContext, repo: RepoRecord, branch: string, sha: string) {
  const commit = await readCommit(repo.gitDir, sha);
  const base = apiBase(ctx, repo);
  return {
    name: branch,
    commit: commit ? { ...commitJson(ctx, repo, commit), commit: commitJson(ctx, repo, commit) } : { sha },
    protected: false,
    _links: {
      self: `${base}/branches/${encodeURIComponent(branch)}`,
      html: `${ctx.state.serverUrl}/${fullName(repo)}/tree/${branch}`,
    },
  };
}

export function registerGitRoutes(router: Router<RestContext>): void {
  const repoOf = (ctx: RestContext, p: Record<string, string>) =>
    ctx.state.visibleRepo(ctx.caller, p.owner ?? '', p.repo ?? '');

  router.add('GET', REPO, (ctx, p) => ({ status: 200, body: ctx.state.repoJson(repoOf(ctx, p), ctx.caller) }));

  router.add('GET', `${REPO}/git/ref/*ref`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    const fullRef = `refs/${p.ref}`;
    const sha = await resolveRef(repo.gitDir, fullRef);
    if (sha === undefined) throw notFound();
    return { status: 200, body: refJson(ctx, repo, fullRef, sha) };
  });

  router.add('GET', `${REPO}/git/matching-refs/*ref`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    const prefix = `refs/${p.ref}`;
    const refs = await listRefs(repo.gitDir, 'refs/');
    const matching = [...refs].filter(([name]) => name.startsWith(prefix));
    return { status: 200, body: matching.map(([name, sha]) => refJson(ctx, repo, name, sha)) };
  });

  router.add('POST', `${REPO}/git/refs`, (ctx, p) => createRef(ctx, repoOf(ctx, p)));
  router.add('PATCH', `${REPO}/git/refs/*ref`, (ctx, p) => moveRef(ctx, repoOf(ctx, p), p.ref ?? ''));
  router.add('DELETE', `${REPO}/git/refs/*ref`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    ctx.state.assertCanWrite(ctx.caller, repo);
    const fullRef = `refs/${p.ref}`;
    if ((await resolveRef(repo.gitDir, fullRef)) === undefined || !(await deleteRef(repo.gitDir, fullRef))) {
      throw unprocessable('Reference does not exist');
    }
    return { status: 204 };
  });

  router.add('GET', `${REPO}/git/commits/:sha`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    const commit = SHA_RE.test(p.sha ?? '') ? await readCommit(repo.gitDir, p.sha ?? '') : undefined;
    if (!commit) throw notFound();
    return { status: 200, body: commitJson(ctx, repo, commit) };
  });
  router.add('POST', `${REPO}/git/commits`, (ctx, p) => createCommit(ctx, repoOf(ctx, p)));

  router.add('POST', `${REPO}/git/blobs`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    ctx.state.assertCanWrite(ctx.caller, repo);
    const body = objectBody(ctx.body);
    const content = requiredString(body, 'content');
    const encoding = optionalString(body, 'encoding') ?? 'utf-8';
    if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'base64') {
      throw unprocessable(`encoding must be "utf-8" or "base64", not ${JSON.stringify(encoding)}`);
    }
    const data = encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
    const sha = await hashObject(repo.gitDir, data);
    return { status: 201, body: { sha, url: `${apiBase(ctx, repo)}/git/blobs/${sha}` } };
  });
  router.add('GET', `${REPO}/git/blobs/:sha`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    const sha = p.sha ?? '';
    const data =
      SHA_RE.test(sha) && (await objectType(repo.gitDir, sha)) === 'blob'
        ? await readObject(repo.gitDir, sha)
        : undefined;
    if (!data) throw notFound();
    const url = `${apiBase(ctx, repo)}/git/blobs/${sha}`;
    return { status: 200, body: { sha, size: data.length, url, content: data.toString('base64'), encoding: 'base64' } };
  });

  router.add('POST', `${REPO}/git/trees`, (ctx, p) => createTree(ctx, repoOf(ctx, p)));
  router.add('GET', `${REPO}/git/trees/:sha`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    const sha = p.sha ?? '';
    if ((await objectType(repo.gitDir, sha)) !== 'tree') throw notFound();
    const recursive = !['', '0', 'false', null].includes(ctx.query.get('recursive'));
    return { status: 200, body: await treeJson(ctx, repo, sha, recursive) };
  });

  router.add('GET', `${REPO}/branches`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    const refs = await listRefs(repo.gitDir, 'refs/heads/');
    const body = [...refs].map(([ref, sha]) => ({
      name: ref.slice('refs/heads/'.length),
      commit: { sha },
      protected: false,
    }));
    return { status: 200, body };
  });
  router.add('GET', `${REPO}/branches/*branch`, async (ctx, p) => {
    const repo = repoOf(ctx, p);
    const branch = p.branch ?? '';
    const sha = await resolveRef(repo.gitDir, `refs/heads/${branch}`);
    if (sha === undefined) throw apiError(404, 'Branch not found');
    return { status: 200, body: await branchJson(ctx, repo, branch, sha) };
  });
}
