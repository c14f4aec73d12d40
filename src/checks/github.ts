import { createAppAuth } from '@octokit/auth-app';
import type { CoreConfig } from '../config/config.js';
import type { GitHubCredentials } from '../github/credentials.js';
import { isHttpError } from '../github/github-errors.js';
import type { OctokitFactory } from '../github/octokit.js';
import { RepoChecker } from '../github/repo-checker.js';
import { parseRepoRef } from '../github/repo-ref.js';
import { AppError } from '../lib/errors.js';
import { CHECK_TIMEOUT_MS, type CheckResult, fail, networkCode, ok, warn, within } from './check.js';

/** What the App needs, as GitHub names the permissions; `optional` ones only warn. */
export const APP_PERMISSIONS: Array<{ name: string; level: 'read' | 'write'; what: string; optional?: boolean }> = [
  { name: 'contents', level: 'write', what: 'Contents: read and write (clone, push the branch)' },
  { name: 'pull_requests', level: 'write', what: 'Pull requests: read and write (open and update the PR)' },
  { name: 'metadata', level: 'read', what: 'Metadata: read' },
  { name: 'checks', level: 'read', what: 'Checks: read (CI results)', optional: true },
  { name: 'statuses', level: 'read', what: 'Commit statuses: read (CI results)', optional: true },
  { name: 'actions', level: 'read', what: 'Actions: read (job logs)', optional: true },
];

const LEVELS: Record<string, number> = { read: 1, write: 2, admin: 3 };

/** The GitHub credential itself: the token (`GET /user`) or the App (`GET /app` with its JWT). */
export async function checkGitHubCredential(
  github: CoreConfig['github'],
  octokitFor: OctokitFactory,
): Promise<CheckResult> {
  if (github.auth.mode === 'token') return checkToken(github.auth.token, github.apiUrl, octokitFor);
  return checkApp(github.auth, github.apiUrl, octokitFor);
}

async function checkToken(token: string, apiUrl: string, octokitFor: OctokitFactory): Promise<CheckResult> {
  const name = 'GitHub token';
  try {
    const response = await within(CHECK_TIMEOUT_MS, `${apiUrl}/user`, (signal) =>
      octokitFor(token).users.getAuthenticated({ request: { signal } }),
    );
    const header = response.headers['x-oauth-scopes'];
    const who = `@${response.data.login}`;
    if (header === undefined) {
      return ok(name, `${who} (fine-grained token: its repository permissions are checked per linked repo)`);
    }
    const scopes = String(header)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const noWorkflow = scopes.includes('workflow')
      ? ''
      : '; without the workflow scope, changes to .github/workflows/ cannot be published';
    if (scopes.includes('repo')) return ok(name, `${who} (classic token: ${scopes.join(', ')}${noWorkflow})`);
    if (scopes.includes('public_repo')) {
      return warn(
        name,
        `${who} has public_repo only: private repos cannot be cloned or published`,
        'give the classic token the repo scope, or use a fine-grained token with Contents and Pull requests read/write',
        'GITHUB_TOKEN',
      );
    }
    return fail(
      name,
      `${who} has no repo scope (has: ${scopes.join(', ') || 'none'})`,
      'give the classic token the repo scope, or use a fine-grained token with Contents and Pull requests read/write',
      'GITHUB_TOKEN',
    );
  } catch (error) {
    if (isHttpError(error) && error.status === 401) {
      return fail(
        name,
        `GitHub refused GITHUB_TOKEN (401 Bad credentials: wrong, expired or revoked)`,
        'create a token at <GitHub>/settings/personal-access-tokens (Contents and Pull requests: read and write) and set GITHUB_TOKEN',
        'GITHUB_TOKEN',
      );
    }
    if (isHttpError(error) && error.status === 403) {
      return fail(
        name,
        `GitHub refused GET /user for GITHUB_TOKEN (403: ${error.message})`,
        'use a personal access token (an installation token expires within the hour; for an App set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY instead)',
        'GITHUB_TOKEN',
      );
    }
    return unreachable(name, apiUrl, error);
  }
}

async function checkApp(
  app: Extract<CoreConfig['github']['auth'], { mode: 'app' }>,
  apiUrl: string,
  octokitFor: OctokitFactory,
): Promise<CheckResult> {
  const name = 'GitHub App';
  let jwt: string;
  try {
    ({ token: jwt } = await createAppAuth({ appId: app.appId, privateKey: app.privateKey })({ type: 'app' }));
  } catch (error) {
    return fail(
      name,
      `could not sign with GITHUB_APP_PRIVATE_KEY (${error instanceof Error ? error.message : String(error)})`,
      'paste the whole PEM from the App’s settings → Private keys (newlines may be written \\n)',
      'GITHUB_APP_PRIVATE_KEY',
    );
  }
  try {
    const { data } = await within(CHECK_TIMEOUT_MS, `${apiUrl}/app`, (signal) =>
      octokitFor(jwt).apps.getAuthenticated({ request: { signal } }),
    );
    if (!data) throw new Error('GET /app answered nothing');
    const granted = (data.permissions ?? {}) as Record<string, string | undefined>;
    const missing = APP_PERMISSIONS.filter((p) => (LEVELS[granted[p.name] ?? ''] ?? 0) < (LEVELS[p.level] ?? 0));
    const who = `${data.slug ?? data.name} (App ${data.id})`;
    const installs = data.installations_count;
    const fixPermissions =
      'in the App’s settings → Permissions & events grant them, then accept the new permissions on each installation';
    if (missing.some((p) => !p.optional)) {
      return fail(
        name,
        `${who} lacks ${missing
          .filter((p) => !p.optional)
          .map((p) => p.what)
          .join('; ')}`,
        fixPermissions,
      );
    }
    if (missing.length > 0) {
      return warn(name, `${who} lacks ${missing.map((p) => p.what).join('; ')}`, fixPermissions);
    }
    if (installs === 0) {
      return warn(
        name,
        `${who} is installed nowhere`,
        'install it on the repos it should work on (App page → Install App)',
      );
    }
    const workflows = LEVELS[granted.workflows ?? ''] === 2 ? 'workflows write' : 'no workflows permission';
    return ok(
      name,
      `${who}, ${installs === undefined ? '' : `${installs} installation${installs === 1 ? '' : 's'}, `}${workflows}`,
    );
  } catch (error) {
    if (isHttpError(error) && (error.status === 401 || error.status === 404)) {
      return fail(
        name,
        `GitHub refused the App’s token (${error.status}): GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY do not belong together`,
        'set GITHUB_APP_ID to the App ID on the App’s settings page and GITHUB_APP_PRIVATE_KEY to a key generated there',
        'GITHUB_APP_ID',
      );
    }
    return unreachable(name, apiUrl, error);
  }
}

/** One linked repo: the bot can read it and push to it (the same check `/ai-dev link` makes). */
export async function checkRepoPush(
  repo: string,
  github: CoreConfig['github'],
  credentials: GitHubCredentials,
  octokitFor: OctokitFactory,
): Promise<CheckResult> {
  const name = `GitHub ${repo}`;
  const ref = parseRepoRef(repo, github.serverUrl);
  if (!ref) return fail(name, 'not a repository name', 'unlink it with /ai-dev unlink');
  try {
    const checked = await within(CHECK_TIMEOUT_MS, `${github.apiUrl}/repos/${repo}`, () =>
      new RepoChecker(credentials, octokitFor).check(ref),
    );
    return ok(name, `push access (default branch ${checked.defaultBranch}${checked.private ? ', private' : ''})`);
  } catch (error) {
    if (error instanceof AppError) return fail(name, error.message, error.userMessage);
    return unreachable(name, github.apiUrl, error);
  }
}

function unreachable(name: string, apiUrl: string, error: unknown): CheckResult {
  const reason = networkCode(error) ?? (error instanceof Error ? error.message : String(error));
  return fail(
    name,
    `could not reach ${apiUrl} (${reason})`,
    'check the network and GITHUB_API_URL (GitHub Enterprise Server: https://<host>/api/v3)',
  );
}
