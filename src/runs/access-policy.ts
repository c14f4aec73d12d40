/** Who may do what, from the ALLOW_* variables; an empty list lets everyone through. */
export interface AccessLists {
  linkUsers: readonly string[];
  runUsers: readonly string[];
  repoPatterns: readonly string[];
  /** People from another organisation (Slack Connect) may run the bot. */
  externalUsers?: boolean;
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

  /** Continue and Retry spend a new budget: the person who started the thread, or someone named in ALLOW_RUN_USERS. */
  mayContinue(userId: string, startedBy: string): boolean {
    return userId === startedBy || this.lists.runUsers.includes(userId);
  }

  /** Approving gated changes: the people who may link repos when that list is set, else the workspace's admins and owners. */
  mayApprove(userId: string, isWorkspaceAdmin: boolean): boolean {
    return this.lists.linkUsers.length > 0 ? this.lists.linkUsers.includes(userId) : isWorkspaceAdmin;
  }

  /** Someone from another organisation (their team is not the app's) when that is not allowed. */
  isOutsider(userTeam: string | undefined, appTeam: string | undefined): boolean {
    if (this.lists.externalUsers) return false;
    return userTeam !== undefined && appTeam !== undefined && userTeam !== appTeam;
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
