import { posix } from 'node:path';
import { lsTreeSized, readCommit, readObject, resolveCommit, SHA_RE, type SizedTreeEntry } from './git.js';
import { apiError, notFound, type RouteResult, type Router } from './http.js';
import { fullName, type InternalContext, type RepoRecord, type RestContext } from './state.js';

const REPO = '/repos/:owner/:repo';

/**
 * Files above 1 MB come back with `content: ""` and `encoding: "none"` (GitHub's REST docs, "Get
 * repository content": 1–100 MB files are only served whole by the `raw` media type).
 */
export const INLINE_CONTENT_LIMIT = 1024 * 1024;

interface Located {
  repo: RepoRecord;
  /** The ref as asked (or the default branch), for URLs. */
  ref: string;
  commit: string;
}

/** Base64 the way GitHub sends it: 60-character lines, each ending in `\n`. */
function githubBase64(data: Buffer): string {
  const flat = data.toString('base64');
  return flat.length === 0 ? '' : `${flat.replace(/.{60}/g, '$&\n').replace(/\n$/, '')}\n`;
}

function mediaType(ctx: RestContext): 'json' | 'raw' | 'object' {
  const accept = String(ctx.headers.accept ?? '');
  if (/application\/vnd\.github(?:\.v3)?\.raw/.test(accept)) return 'raw';
  if (/application\/vnd\.github(?:\.v3)?\.object/.test(accept)) return 'object';
  return 'json';
}

function entryType(entry: SizedTreeEntry, inListing: boolean): string {
  if (entry.type === 'tree') return 'dir';
  // Directory listings call submodules "file" (GitHub's REST docs, for backwards compatibility).
  if (entry.type === 'commit') return inListing ? 'file' : 'submodule';
  return entry.mode === '120000' ? 'symlink' : 'file';
}

/** The common fields of every contents item. */
function itemJson(ctx: RestContext, at: Located, path: string, entry: SizedTreeEntry, inListing: boolean) {
  const { repo, ref } = at;
  const api = `${ctx.state.serverUrl}/api/v3/repos/${fullName(repo)}`;
  const type = entryType(entry, inListing);
  const self = `${api}/contents/${path.split('/').map(encodeURIComponent).join('/')}?ref=${encodeURIComponent(ref)}`;
  const htmlKind = entry.type === 'tree' ? 'tree' : 'blob';
  const html = entry.type === 'commit' ? null : `${ctx.state.serverUrl}/${fullName(repo)}/${htmlKind}/${ref}/${path}`;
  const git = entry.type === 'commit' ? null : `${api}/git/${entry.type === 'tree' ? 'trees' : 'blobs'}/${entry.sha}`;
  const download =
    entry.type === 'blob' ? `${ctx.state.serverUrl}/_fake/raw/${fullName(repo)}/${entry.sha}/${path}` : null;
  return {
    type,
    size: entry.size,
    name: posix.basename(path),
    path,
    sha: entry.sha,
    url: self,
    git_url: git,
    html_url: html,
    download_url: download,
    _links: { self, git, html },
  };
}

async function fileJson(ctx: RestContext, at: Located, path: string, entry: SizedTreeEntry) {
  const base = itemJson(ctx, at, path, entry, false);
  if (entry.size > INLINE_CONTENT_LIMIT) return { ...base, content: '', encoding: 'none' };
  const data = (await readObject(at.repo.gitDir, entry.sha)) ?? Buffer.alloc(0);
  return { ...base, content: githubBase64(data), encoding: 'base64' };
}

/** `.gitmodules`' URL for a submodule path at the commit, if any. */
async function submoduleUrl(at: Located, path: string): Promise<string | null> {
  const entry = (await lsTreeSized(at.repo.gitDir, at.commit, '.gitmodules'))?.get('.gitmodules');
  if (!entry) return null;
  const text = ((await readObject(at.repo.gitDir, entry.sha)) ?? Buffer.alloc(0)).toString('utf8');
  for (const section of text.split(/^\s*\[/m)) {
    const sectionPath = /^\s*path\s*=\s*(.+?)\s*$/m.exec(section)?.[1];
    if (sectionPath === path) return /^\s*url\s*=\s*(.+?)\s*$/m.exec(section)?.[1] ?? null;
  }
  return null;
}

async function locate(ctx: RestContext, repo: RepoRecord): Promise<Located> {
  const ref = ctx.query.get('ref') || repo.defaultBranch;
  const commit = await resolveCommit(repo.gitDir, SHA_RE.test(ref) ? ref : ref.replace(/^refs\//, ''));
  // (unverified wording) GitHub answers an unknown ref with 404 "No commit found for the ref <ref>".
  if (!commit) throw apiError(404, `No commit found for the ref ${ref}`);
  return { repo, ref, commit };
}

async function getContents(ctx: RestContext, repo: RepoRecord, rawPath: string): Promise<RouteResult> {
  ctx.state.assertCanRead(ctx.caller, repo, 'contents');
  const path = rawPath.replace(/^\/+|\/+$/g, '');
  const at = await locate(ctx, repo);
  const media = mediaType(ctx);
  let entry: SizedTreeEntry | undefined;
  if (path === '') {
    const tree = (await readCommit(repo.gitDir, at.commit))?.tree;
    entry = tree ? { mode: '040000', type: 'tree', sha: tree, size: 0 } : undefined;
  } else {
    if (path.split('/').some((part) => part === '.' || part === '..')) throw notFound();
    entry = (await lsTreeSized(repo.gitDir, at.commit, path))?.get(path);
  }
  if (!entry) throw notFound();

  if (entry.type === 'tree') {
    const children = (await lsTreeSized(repo.gitDir, entry.sha)) ?? new Map<string, SizedTreeEntry>();
    const entries = [...children].map(([name, child]) =>
      itemJson(ctx, at, path ? `${path}/${name}` : name, child, true),
    );
    if (media !== 'object') return { status: 200, body: entries };
    return { status: 200, body: { ...itemJson(ctx, at, path, entry, false), entries } };
  }
  if (entry.type === 'commit') {
    const url = await submoduleUrl(at, path);
    return { status: 200, body: { ...itemJson(ctx, at, path, entry, false), submodule_git_url: url } };
  }
  if (entry.mode === '120000') {
    const target = ((await readObject(repo.gitDir, entry.sha)) ?? Buffer.alloc(0)).toString('utf8');
    const resolved = posix.normalize(posix.join(posix.dirname(path), target));
    const pointee = resolved.startsWith('../')
      ? undefined
      : (await lsTreeSized(repo.gitDir, at.commit, resolved))?.get(resolved);
    // A symlink to a regular file answers with that file (GitHub's REST docs); otherwise with the link itself.
    if (pointee?.type === 'blob' && pointee.mode !== '120000') {
      if (media === 'raw') return rawFile(repo, pointee);
      return { status: 200, body: await fileJson(ctx, at, resolved, pointee) };
    }
    if (media === 'raw') return rawFile(repo, entry);
    return { status: 200, body: { ...itemJson(ctx, at, path, entry, false), target } };
  }
  if (media === 'raw') return rawFile(repo, entry);
  return { status: 200, body: await fileJson(ctx, at, path, entry) };
}

async function rawFile(repo: RepoRecord, entry: SizedTreeEntry): Promise<RouteResult> {
  const data = (await readObject(repo.gitDir, entry.sha)) ?? Buffer.alloc(0);
  // (unverified) the exact Content-Type GitHub sends for the raw media type.
  return { status: 200, raw: data, contentType: 'application/vnd.github.raw; charset=utf-8' };
}

export function registerContentRoutes(router: Router<RestContext>, internal: Router<InternalContext>): void {
  const repoOf = (ctx: RestContext, p: Record<string, string>) =>
    ctx.state.visibleRepo(ctx.caller, p.owner ?? '', p.repo ?? '');
  router.add('GET', `${REPO}/contents`, (ctx, p) => getContents(ctx, repoOf(ctx, p), ''));
  router.add('GET', `${REPO}/contents/*path`, (ctx, p) => getContents(ctx, repoOf(ctx, p), p.path ?? ''));

  // `download_url`s: like raw.githubusercontent.com's tokenised links, they need no Authorization.
  internal.add(
    'GET',
    '/raw/:owner/:repo/:sha/*path',
    async (ctx, p) => {
      const repo = ctx.state.findRepo(p.owner ?? '', p.repo ?? '');
      const sha = p.sha ?? '';
      const data = repo && SHA_RE.test(sha) ? await readObject(repo.gitDir, sha) : undefined;
      if (!data) return { status: 404, raw: '404: Not Found', contentType: 'text/plain; charset=utf-8' };
      return { status: 200, raw: data, contentType: 'text/plain; charset=utf-8' };
    },
    'none',
  );
}
