export interface RepoRef {
  owner: string;
  name: string;
}

export const fullName = (ref: RepoRef) => `${ref.owner}/${ref.name}`;

// GitHub's own rules: owners are alphanumeric with single inner hyphens (39 max); repo names
// are letters, digits, '.', '-' and '_' (100 max) and never '.' or '..'.
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Reads `owner/repo` or a repo URL on the configured GitHub server (`https://github.com/o/r`,
 * `…/o/r.git`, Slack's `<url>` and `<url|label>` wrapping). Anything else is undefined.
 */
export function parseRepoRef(input: string, serverUrl: string): RepoRef | undefined {
  let text = input.trim();
  const wrapped = /^<([^|>]+)(?:\|[^>]*)?>$/.exec(text);
  if (wrapped?.[1]) text = wrapped[1];
  if (/\s/.test(text) || text.length === 0 || text.length > 300) return undefined;

  let path = text;
  if (/^https?:\/\//i.test(text)) {
    path = repoPathFromUrl(text, serverUrl) ?? '';
    if (!path) return undefined;
  }
  path = path.replace(/\/+$/, '').replace(/\.git$/i, '');
  const parts = path.split('/');
  if (parts.length !== 2) return undefined;
  const [owner, name] = parts as [string, string];
  if (!OWNER.test(owner) || !NAME.test(name) || name === '.' || name === '..') return undefined;
  return { owner, name };
}

function repoPathFromUrl(text: string, serverUrl: string): string | undefined {
  let url: URL;
  let server: URL;
  try {
    url = new URL(text);
    server = new URL(serverUrl);
  } catch {
    return undefined;
  }
  if (url.host.toLowerCase() !== server.host.toLowerCase()) return undefined;
  if (url.search || url.hash || url.username || url.password) return undefined;
  const base = server.pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${base}/`)) return undefined;
  return url.pathname.slice(base.length + 1);
}
