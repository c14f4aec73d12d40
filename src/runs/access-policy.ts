/** Who may do what, from the ALLOW_* variables; an empty list lets everyone through. */
export interface AccessLists {
  linkUsers: readonly string[];
  runUsers: readonly string[];
  repoPatterns: readonly string[];
}

export class AccessPolicy {
  private readonly repoMatchers: RegExp[];

  constructor(private readonly lists: AccessLists) {
    this.repoMatchers = lists.repoPatterns.map(patternToRegExp);
  }

  mayLink(userId: string): boolean {
    return this.lists.linkUsers.length === 0 || this.lists.linkUsers.includes(userId);
  }

  mayRun(userId: string): boolean {
    return this.lists.runUsers.length === 0 || this.lists.runUsers.includes(userId);
  }

  repoAllowed(fullName: string): boolean {
    return this.repoMatchers.length === 0 || this.repoMatchers.some((re) => re.test(fullName.toLowerCase()));
  }
}

function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${escaped}$`);
}
