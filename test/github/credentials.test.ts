import { generateKeyPairSync } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppInstallationCredentials, StaticTokenCredentials } from '../../src/github/credentials.js';
import { RepoChecker } from '../../src/github/repo-checker.js';
import { type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';

describe('GitHub App credentials against the fake GitHub', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  let github: FakeGitHub;
  const octokitFor = (auth: string) => new Octokit({ auth, baseUrl: github.apiUrl });

  beforeAll(async () => {
    github = await startFakeGitHub({
      tokens: {},
      app: { id: 4242, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), installedOn: ['acme'] },
    });
    await github.addRepo({ owner: 'acme', name: 'widgets', private: true });
    await github.addRepo({ owner: 'acme', name: 'other', private: true });
    await github.addRepo({ owner: 'elsewhere', name: 'thing' });
  });
  afterAll(async () => {
    await github?.close();
  });

  it('mints a token scoped to the one repo, caches it, and the repo check passes with it', async () => {
    const credentials = new AppInstallationCredentials(
      { mode: 'app', appId: '4242', privateKey: pem },
      { apiUrl: github.apiUrl, octokitFor },
    );
    const ref = { owner: 'acme', name: 'widgets' };
    const token = await credentials.tokenFor(ref, 'write');
    expect(token).toMatch(/^ghs_/);
    expect(await credentials.tokenFor(ref, 'write')).toBe(token);
    const read = await credentials.tokenFor(ref, 'read');
    expect(read).not.toBe(token);
    // Scoped: the same token cannot see the installation's other repo.
    await expect(octokitFor(token).repos.get({ owner: 'acme', repo: 'other' })).rejects.toMatchObject({ status: 404 });
    const checked = await new RepoChecker(credentials, octokitFor).check(ref);
    expect(checked).toEqual({ fullName: 'acme/widgets', defaultBranch: 'main', private: true });
    const minted = github.requests.filter((r) => r.path.endsWith('/access_tokens'));
    expect(minted.map((r) => r.body)).toEqual([
      { repositories: ['widgets'], permissions: { contents: 'write', pull_requests: 'write' } },
      { repositories: ['widgets'], permissions: { contents: 'read' } },
    ]);
  });

  it('says when the App is not installed on the repo', async () => {
    const credentials = new AppInstallationCredentials(
      { mode: 'app', appId: '4242', privateKey: pem },
      { apiUrl: github.apiUrl, octokitFor },
    );
    await expect(credentials.tokenFor({ owner: 'elsewhere', name: 'thing' }, 'write')).rejects.toMatchObject({
      code: 'github_app_not_installed',
      userMessage: expect.stringContaining('not installed on elsewhere/thing'),
    });
  });

  it('says when the App key is wrong', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem',
    });
    const credentials = new AppInstallationCredentials(
      { mode: 'app', appId: '4242', privateKey: other.toString() },
      { apiUrl: github.apiUrl, octokitFor },
    );
    await expect(credentials.tokenFor({ owner: 'acme', name: 'widgets' }, 'write')).rejects.toMatchObject({
      code: 'github_bad_credentials',
    });
  });

  it('names the missing “Workflows: write” permission when an approved workflow change needs a token the App may not mint', async () => {
    const credentials = new AppInstallationCredentials(
      { mode: 'app', appId: '4242', privateKey: pem },
      { apiUrl: github.apiUrl, octokitFor },
    );
    // The installation was granted contents and pull requests only (the fake's default), as most are.
    await expect(credentials.tokenFor({ owner: 'acme', name: 'widgets' }, 'write-workflows')).rejects.toMatchObject({
      code: 'workflow_permission',
      endsRun: true,
      userMessage: expect.stringContaining('“Workflows: write” permission'),
    });
    const asked = github.requests.filter((r) => r.path.endsWith('/access_tokens')).at(-1);
    expect(asked?.body).toMatchObject({ permissions: { contents: 'write', workflows: 'write' } });
  });

  it('a static token is handed out as it is', async () => {
    expect(await new StaticTokenCredentials('ghp_x').tokenFor()).toBe('ghp_x');
  });
});
