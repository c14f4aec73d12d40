import { randomBytes } from 'node:crypto';

/** The only branches the bot ever writes. */
export const BRANCH_PREFIX = 'ai-dev/';

/** `ai-dev/<slug>-<short id>`: readable in GitHub's branch list, unique per thread. */
export function branchName(task: string, id: string = randomBytes(3).toString('hex')): string {
  const slug = task
    .toLowerCase()
    .replace(/<[^>]*>/g, ' ')
    .replace(/[^a-z0-9]+/g, '-')
    .split('-')
    .filter(Boolean)
    .slice(0, 6)
    .join('-')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `${BRANCH_PREFIX}${slug || 'task'}-${id}`;
}

/** A fresh branch for the same work (its pull request was merged): same slug, new id. */
export function nextBranchName(branch: string): string {
  const slug = branch.startsWith(BRANCH_PREFIX) ? branch.slice(BRANCH_PREFIX.length) : branch;
  return branchName(slug.replace(/-[0-9a-f]{6}$/, ''));
}
