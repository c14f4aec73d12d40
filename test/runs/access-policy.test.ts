import { describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../src/runs/access-policy.js';

describe('AccessPolicy', () => {
  it('lets everyone through when the lists are empty', () => {
    const policy = new AccessPolicy({ linkUsers: [], runUsers: [], repoPatterns: [] });
    expect(policy.mayLink('U1')).toBe(true);
    expect(policy.mayRun('U1')).toBe(true);
    expect(policy.repoAllowed('any/thing')).toBe(true);
  });

  it('applies user lists and repo patterns', () => {
    const policy = new AccessPolicy({ linkUsers: ['U1'], runUsers: ['U2'], repoPatterns: ['acme/*', 'other/one'] });
    expect(policy.mayLink('U1')).toBe(true);
    expect(policy.mayLink('U2')).toBe(false);
    expect(policy.mayRun('U2')).toBe(true);
    expect(policy.mayRun('U1')).toBe(false);
    expect(policy.repoAllowed('Acme/Widgets')).toBe(true);
    expect(policy.repoAllowed('other/one')).toBe(true);
    expect(policy.repoAllowed('other/two')).toBe(false);
    expect(policy.repoAllowed('acmex/widgets')).toBe(false);
  });
});
