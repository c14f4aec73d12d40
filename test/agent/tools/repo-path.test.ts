import { describe, expect, it } from 'vitest';
import { RepoPathError, resolveRepoPath } from '../../../src/agent/tools/kit/repo-path.js';

const ROOT = '/home/user/repo';

describe('resolveRepoPath', () => {
  it('resolves relative paths, normalised', () => {
    expect(resolveRepoPath(ROOT, 'src/index.ts')).toEqual({
      relative: 'src/index.ts',
      absolute: `${ROOT}/src/index.ts`,
    });
    expect(resolveRepoPath(ROOT, './src//lib/../index.ts')).toEqual({
      relative: 'src/index.ts',
      absolute: `${ROOT}/src/index.ts`,
    });
    expect(resolveRepoPath(ROOT, 'src/')).toEqual({ relative: 'src', absolute: `${ROOT}/src` });
  });

  it('treats ".", "./" and "" as the root', () => {
    for (const path of ['.', './', '', 'src/..']) {
      expect(resolveRepoPath(ROOT, path)).toEqual({ relative: '.', absolute: ROOT });
    }
  });

  it.each([
    ['../x', /outside the repo root/],
    ['a/../../x', /outside the repo root/],
    ['..', /outside the repo root/],
    ['/etc/passwd', /absolute; paths are relative to the repo root/],
    ['~/.ssh/id_rsa', /~ is not expanded/],
    ['src/\0x', /NUL byte/],
  ])('refuses %j, saying why', (path, why) => {
    expect(() => resolveRepoPath(ROOT, path)).toThrow(RepoPathError);
    expect(() => resolveRepoPath(ROOT, path)).toThrow(why);
  });

  it('suggests the relative form of an absolute path inside the repo', () => {
    expect(() => resolveRepoPath(ROOT, `${ROOT}/src/a.ts`)).toThrow('write "src/a.ts"');
  });

  it('refuses writes into .git and to the root itself, but allows reading them', () => {
    for (const path of ['.git', '.git/config', 'src/../.git/hooks/pre-commit']) {
      expect(() => resolveRepoPath(ROOT, path, { write: true })).toThrow(/inside \.git/);
      expect(resolveRepoPath(ROOT, path).relative.startsWith('.git')).toBe(true);
    }
    expect(() => resolveRepoPath(ROOT, '.', { write: true })).toThrow(/repo root itself/);
    expect(resolveRepoPath(ROOT, '.github/workflows/ci.yml', { write: true }).relative).toBe(
      '.github/workflows/ci.yml',
    );
    expect(resolveRepoPath(ROOT, 'src/.git-keep', { write: true }).relative).toBe('src/.git-keep');
  });
});
