import { createPublicKey, randomBytes, verify } from 'node:crypto';
import type { components } from '@octokit/openapi-types';
import { apiError, notFound, objectBody, type Router, unprocessable } from './http.js';
import { type FakeState, fullName, type RepoRecord, type RestContext } from './state.js';
import type { FakeAppOptions, MintedTokenRecord } from './types.js';

const DEFAULT_PERMISSIONS: Record<string, string> = { contents: 'write', pull_requests: 'write', metadata: 'read' };
const LEVEL: Record<string, number> = { read: 1, write: 2, admin: 3 };
const TOKEN_TTL_MS = 60 * 60 * 1000;

const jwtError = (message = 'A JSON web token could not be decoded') => apiError(401, message);

function decodePart(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (typeof value !== 'object' || value === null) throw new Error('not an object');
  return value as Record<string, unknown>;
}

/** Checks an App JWT like GitHub: RS256, `iss` = app id, `iat`/`exp` sane (≤ 10 min), signature when a key is set. */
export function verifyAppJwt(jwt: string, app: FakeAppOptions | undefined): void {
  if (!app) throw jwtError('Integration not found (the fake has no `app` option)');
  const parts = jwt.split('.');
  const [head, payloadPart, signature] = parts;
  if (parts.length !== 3 || head === undefined || payloadPart === undefined || signature === undefined)
    throw jwtError();
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = decodePart(head);
    payload = decodePart(payloadPart);
  } catch {
    throw jwtError();
  }
  if (header.alg !== 'RS256') throw jwtError();
  if (String(payload.iss) !== String(app.id)) throw jwtError('Integration not found');
  const nowSec = Math.floor(Date.now() / 1000);
  const { iat, exp } = payload;
  if (typeof iat !== 'number' || iat > nowSec + 60) {
    throw jwtError("'Issued at' claim ('iat') must be an Integer representing a time in the past.");
  }
  if (typeof exp !== 'number' || exp <= nowSec || exp - iat > 660) {
    throw jwtError("'Expiration time' claim ('exp') is too far in the future or already expired.");
  }
  if (app.publicKey) {
    const key = typeof app.publicKey === 'string' ? createPublicKey(app.publicKey) : app.publicKey;
    const ok = verify('sha256', Buffer.from(`${head}.${payloadPart}`), key, Buffer.from(signature, 'base64url'));
    if (!ok) throw jwtError();
  }
}

function installationJson(state: FakeState, owner: string, id: number) {
  const app = state.app;
  return {
    id,
    account: { login: owner, type: 'Organization' },
    app_id: app?.id,
    app_slug: app?.slug ?? 'fake-app',
    target_type: 'Organization',
    repository_selection: 'all',
    permissions: app?.permissions ?? DEFAULT_PERMISSIONS,
    access_tokens_url: `${state.serverUrl}/api/v3/app/installations/${id}/access_tokens`,
  };
}

function ownerInstallation(state: FakeState, owner: string) {
  const id = state.installationFor(owner);
  if (id === undefined) throw notFound();
  return { status: 200, body: installationJson(state, owner, id) };
}

function mintToken(ctx: RestContext, installationId: number) {
  const { state } = ctx;
  const owner = state.ownerOfInstallation(installationId);
  if (owner === undefined) throw notFound();
  const body = objectBody(ctx.body);
  const requestedPermissions = body.permissions as Record<string, string> | undefined;
  const names = body.repositories as string[] | undefined;
  const ids = body.repository_ids as number[] | undefined;
  const requestedRepositories =
    names === undefined && ids === undefined ? undefined : [...(names ?? []), ...(ids ?? [])];
  const record: MintedTokenRecord = {
    installationId,
    owner,
    requestedPermissions: requestedPermissions && { ...requestedPermissions },
    requestedRepositories,
    permissions: {},
    repositories: [],
    at: new Date().toISOString(),
  };
  state.mintedTokens.push(record);
  const refuse = (message: string) => {
    record.refused = message;
    return unprocessable(message);
  };
  const granted = state.app?.permissions ?? DEFAULT_PERMISSIONS;
  let permissions = granted;
  if (requestedPermissions !== undefined) {
    // 422 wording as reported in peter-murray/workflow-application-token-action#48.
    for (const [name, level] of Object.entries(requestedPermissions)) {
      if ((LEVEL[level] ?? 99) > (LEVEL[granted[name] ?? ''] ?? 0)) {
        throw refuse('The permissions requested are not granted to this installation.');
      }
    }
    // (unverified) narrowed tokens keep the installation's metadata read access, as GitHub's answers show.
    permissions = { ...requestedPermissions, ...(granted.metadata ? { metadata: granted.metadata } : {}) };
  }
  const ownerRepos = [...state.repos.values()].filter((repo) => repo.owner.toLowerCase() === owner);
  let selected: RepoRecord[] = ownerRepos;
  if (requestedRepositories !== undefined) {
    selected = [];
    for (const wanted of requestedRepositories) {
      const repo = ownerRepos.find((r) => r.id === wanted || r.name.toLowerCase() === String(wanted).toLowerCase());
      if (!repo) {
        throw refuse(
          'There is at least one repository that does not exist or is not accessible to the parent installation.',
        );
      }
      selected.push(repo);
    }
  }
  const token = `ghs_${state.app?.id}_${randomBytes(48).toString('base64url')}`;
  const expiresAt = new Date(Date.now() + TOKEN_TTL_MS);
  state.tokens.set(token, {
    login: `${state.app?.slug ?? 'fake-app'}[bot]`,
    kind: 'installation',
    repos: selected.map(fullName),
    permissions,
    expiresAt,
  });
  record.permissions = { ...permissions };
  record.repositories = selected.map(fullName);
  const explicit = requestedRepositories !== undefined;
  return {
    status: 201,
    body: {
      token,
      expires_at: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      permissions,
      repository_selection: explicit ? 'selected' : 'all',
      ...(explicit ? { repositories: selected.map((repo) => state.repoJson(repo)) } : {}),
    },
  };
}

/** The App as `GET /app` (and webhook `app` fields) show it: GitHub's `integration` object. */
export type IntegrationJson = NonNullable<components['schemas']['integration']>;

export function appJson(state: FakeState) {
  const app = state.app;
  const slug = app?.slug ?? 'fake-app';
  const id = Number(app?.id ?? 0);
  return {
    id,
    slug,
    node_id: Buffer.from(`Integration${id}`).toString('base64'),
    client_id: `Iv1.fake${id}`,
    owner: state.userJson(app?.owner ?? 'fake-app-owner', 'Organization'),
    name: app?.name ?? slug,
    description: null,
    external_url: state.serverUrl,
    html_url: `${state.serverUrl}/apps/${slug}`,
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    permissions: app?.permissions ?? DEFAULT_PERMISSIONS,
    events: app?.events ?? [
      'check_run',
      'check_suite',
      'issue_comment',
      'pull_request_review',
      'pull_request_review_comment',
      'status',
    ],
    installations_count: state.installations.size,
  } satisfies IntegrationJson;
}

/** `GET /user`: the token's user (GitHub's public-user fields); installation tokens are refused. */
function authenticatedUser(ctx: RestContext) {
  const { caller, state } = ctx;
  // (unverified) GitHub answers installation tokens 403 here: they act as the App's bot, not a user.
  if (caller.kind !== 'user') throw apiError(403, 'Resource not accessible by integration');
  return {
    status: 200,
    body: {
      ...state.userJson(caller.login, 'User'),
      name: caller.name ?? null,
      company: null,
      blog: '',
      location: null,
      email: null,
      hireable: null,
      bio: null,
      twitter_username: null,
      public_repos: 0,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
    },
  };
}

export function registerAppRoutes(router: Router<RestContext>): void {
  router.add('GET', '/app', (ctx) => ({ status: 200, body: appJson(ctx.state) }), 'jwt');
  router.add('GET', '/user', authenticatedUser);
  router.add(
    'GET',
    '/repos/:owner/:repo/installation',
    (ctx, p) => {
      const repo = ctx.state.findRepo(p.owner ?? '', p.repo ?? '');
      if (!repo) throw notFound();
      return ownerInstallation(ctx.state, repo.owner);
    },
    'jwt',
  );
  router.add('GET', '/orgs/:owner/installation', (ctx, p) => ownerInstallation(ctx.state, p.owner ?? ''), 'jwt');
  router.add('GET', '/users/:owner/installation', (ctx, p) => ownerInstallation(ctx.state, p.owner ?? ''), 'jwt');
  router.add('POST', '/app/installations/:id/access_tokens', (ctx, p) => mintToken(ctx, Number(p.id)), 'jwt');
  router.add('GET', '/installation/repositories', (ctx) => {
    if (ctx.caller.kind !== 'installation') throw apiError(403, 'This endpoint is for installation tokens only');
    const repositories = [...ctx.state.repos.values()]
      .filter((repo) => ctx.state.canSee(ctx.caller, repo))
      .map((repo) => ctx.state.repoJson(repo));
    return { status: 200, body: { total_count: repositories.length, repositories } };
  });
}
