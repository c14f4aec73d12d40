import { describe, expect, it } from 'vitest';
import { gatedChanges, gateFingerprint, isCiConfig, pointsOutside } from '../../src/github/publish-gate.js';
import type { TreeChange } from '../../src/github/sandbox-git.js';

const ZERO = '0'.repeat(40);
const change = (path: string, over: Partial<TreeChange> = {}): TreeChange => ({
  status: 'A',
  path,
  srcMode: '000000',
  dstMode: '100644',
  srcSha: ZERO,
  dstSha: 'a'.repeat(40),
  ...over,
});

describe('the publish gate', () => {
  it('knows the CI configuration files of the common CI systems, and nothing else', () => {
    for (const path of [
      '.github/workflows/ci.yml',
      '.github/actions/setup/action.yml',
      'tools/deploy/action.yaml',
      '.gitlab-ci.yml',
      '.circleci/config.yml',
      'Jenkinsfile',
      'ci/Jenkinsfile',
      'azure-pipelines.yml',
      '.travis.yml',
      'bitbucket-pipelines.yml',
      '.buildkite/pipeline.yml',
      '.drone.yml',
      'appveyor.yml',
    ]) {
      expect(isCiConfig(path), path).toBe(true);
    }
    for (const path of ['src/workflows/ci.ts', 'docs/.github.md', 'README.md', 'github/workflows.yml', 'jenkins.md']) {
      expect(isCiConfig(path), path).toBe(false);
    }
  });

  it('gates CI config added, changed or deleted, gitlinks and .gitmodules, and outside symlinks', async () => {
    const targets: Record<string, string> = { ['b'.repeat(40)]: '../../etc/passwd', ['c'.repeat(40)]: 'docs/guide.md' };
    const gated = await gatedChanges(
      [
        change('.github/workflows/x.yml'),
        change('.circleci/config.yml', { status: 'D', dstMode: '000000', dstSha: ZERO }),
        change('vendor/evil', { dstMode: '160000', dstSha: '1'.repeat(40) }),
        change('.gitmodules'),
        change('link-out', { dstMode: '120000', dstSha: 'b'.repeat(40) }),
        change('link-in', { dstMode: '120000', dstSha: 'c'.repeat(40) }),
        change('src/app.ts'),
      ],
      async (sha) => targets[sha] ?? '',
    );
    expect(gated.map((g) => [g.path, g.reason])).toEqual([
      ['.circleci/config.yml', 'ci-config'],
      ['.github/workflows/x.yml', 'ci-config'],
      ['.gitmodules', 'gitlink'],
      ['link-out', 'symlink-outside'],
      ['vendor/evil', 'gitlink'],
    ]);
    expect(gated.find((g) => g.path === 'link-out')?.detail).toBe('../../etc/passwd');
    expect(gated.find((g) => g.path === '.circleci/config.yml')?.sha).toBe('deleted');
  });

  it('tells a symlink that leaves the repo from one that stays inside', () => {
    expect(pointsOutside('a/b/link', '../../x')).toBe(false);
    expect(pointsOutside('a/b/link', '../../../x')).toBe(true);
    expect(pointsOutside('link', '/etc/passwd')).toBe(true);
    expect(pointsOutside('link', '~/.ssh/id_rsa')).toBe(true);
    expect(pointsOutside('link', 'sub/../../x')).toBe(true);
  });

  it('fingerprints exactly the gated content: another version of a file needs another approval', () => {
    const one = [{ path: '.github/workflows/x.yml', reason: 'ci-config' as const, sha: 'a'.repeat(40) }];
    const same = [{ path: '.github/workflows/x.yml', reason: 'ci-config' as const, sha: 'a'.repeat(40) }];
    const edited = [{ path: '.github/workflows/x.yml', reason: 'ci-config' as const, sha: 'd'.repeat(40) }];
    expect(gateFingerprint(one)).toBe(gateFingerprint(same));
    expect(gateFingerprint(one)).not.toBe(gateFingerprint(edited));
  });
});
