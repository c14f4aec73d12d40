import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { TreeChange } from './sandbox-git.js';

/** Why a change waits for a person before it reaches GitHub. */
export type GateReason = 'ci-config' | 'gitlink' | 'symlink-outside';

export interface GatedChange {
  path: string;
  reason: GateReason;
  /** What would be published there (a blob or a gitlink's commit); `deleted` for a removal. */
  sha: string;
  /** Where the symlink points. */
  detail?: string;
}

/**
 * Files whose change lets code run with the repository's secrets (CI configuration) on the next push
 * or pull request, before any person has read it.
 */
const CI_CONFIG: RegExp[] = [
  /^\.github\/workflows\//,
  /^\.github\/actions\//,
  /(^|\/)action\.ya?ml$/,
  /^\.gitlab-ci\.ya?ml$/,
  /^\.gitlab\/ci\//,
  /^\.circleci\//,
  /(^|\/)Jenkinsfile$/,
  /^\.?azure-pipelines(\.ya?ml|\/)/,
  /^\.travis\.ya?ml$/,
  /^bitbucket-pipelines\.ya?ml$/,
  /^\.buildkite\//,
  /^\.drone\.ya?ml$/,
  /^\.?appveyor\.ya?ml$/,
  /^cloudbuild\.ya?ml$/,
  /^\.woodpecker(\.ya?ml|\/)/,
];

export function isCiConfig(path: string): boolean {
  return CI_CONFIG.some((pattern) => pattern.test(path));
}

/**
 * What in a set of commit changes needs an approval before it is published: CI configuration added,
 * changed or removed; gitlinks (submodules) added or moved, and `.gitmodules`; symlinks that point
 * outside the repo. `symlinkTarget` reads a symlink blob (its target) from the sandbox.
 */
export async function gatedChanges(
  changes: readonly TreeChange[],
  symlinkTarget: (blobSha: string) => Promise<string>,
): Promise<GatedChange[]> {
  const gated = new Map<string, GatedChange>();
  for (const change of changes) {
    const sha = change.status === 'D' ? 'deleted' : change.dstSha;
    if (isCiConfig(change.path)) {
      gated.set(`ci:${change.path}:${sha}`, { path: change.path, reason: 'ci-config', sha });
      continue;
    }
    if (change.status === 'D') continue;
    if (change.dstMode === '160000' || change.path === '.gitmodules' || change.path.endsWith('/.gitmodules')) {
      gated.set(`gitlink:${change.path}:${sha}`, { path: change.path, reason: 'gitlink', sha });
      continue;
    }
    if (change.dstMode === '120000') {
      const target = await symlinkTarget(change.dstSha);
      if (pointsOutside(change.path, target)) {
        gated.set(`symlink:${change.path}:${sha}`, {
          path: change.path,
          reason: 'symlink-outside',
          sha,
          detail: target,
        });
      }
    }
  }
  // One entry per version: an approval covers every version that would land in a published commit.
  return [...gated.values()].sort((a, b) => a.path.localeCompare(b.path) || a.sha.localeCompare(b.sha));
}

/** A symlink at `path` (relative to the repo root) whose target leaves the repo. */
export function pointsOutside(path: string, target: string): boolean {
  if (target.startsWith('/') || target.startsWith('~') || target.includes('\0')) return true;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved === '..' || resolved.startsWith('../');
}

/**
 * Names exactly what was gated (each path with the content it would publish), so an approval covers
 * these changes and no later edit of them.
 */
export function gateFingerprint(changes: readonly GatedChange[]): string {
  const lines = changes.map((c) => `${c.reason} ${c.path} ${c.sha}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 24);
}
