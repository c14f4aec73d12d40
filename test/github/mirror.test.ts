import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticTokenCredentials } from '../../src/github/credentials.js';
import { RepoMirrors } from '../../src/github/mirror.js';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { captureLogger } from '../helpers/logger.js';

const git = promisify(execFile);
const { logger } = captureLogger();

describe('RepoMirrors', () => {
  let fake: FakeGitHub;
  let root: string;

  beforeAll(async () => {
    fake = await startFakeGitHub();
    await fake.addRepo({ owner: 'acme', name: 'mirrored', files: { 'README.md': '# mirrored\n' } });
    root = await mkdtemp(join(tmpdir(), 'ai-dev-mirror-'));
  });
  afterAll(async () => {
    await fake?.close();
    await rm(root, { recursive: true, force: true });
  });

  // MIRROR_DIR defaults to `data/mirrors`, relative to where the bot starts; git runs inside each mirror.
  it('packs a bundle when its directory is given relative to the working directory', async () => {
    const mirrors = new RepoMirrors({
      dir: relative(process.cwd(), join(root, 'mirrors')),
      serverUrl: fake.serverUrl,
      credentials: new StaticTokenCredentials(DEFAULT_FAKE_GITHUB_TOKEN),
      logger,
      path: process.env.PATH ?? '/usr/bin:/bin',
    });
    const handover = await mirrors.handover({ owner: 'acme', name: 'mirrored' }, { base: 'main' });
    const bundle = join(root, 'handover.bundle');
    await writeFile(bundle, handover.bundle);
    const { stdout } = await git('git', ['bundle', 'list-heads', bundle]);
    expect(stdout).toMatch(/refs\/heads\/main/);
  });
});
