import { randomBytes } from 'node:crypto';

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
  return `ai-dev/${slug || 'task'}-${id}`;
}
