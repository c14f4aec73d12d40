import { describe, expect, it } from 'vitest';
import { parseRepoRef } from '../../src/github/repo-ref.js';

const server = 'https://github.com';

describe('parseRepoRef', () => {
  it.each([
    ['acme/widgets', 'acme', 'widgets'],
    ['  acme/widgets  ', 'acme', 'widgets'],
    ['https://github.com/acme/widgets', 'acme', 'widgets'],
    ['https://github.com/acme/widgets.git', 'acme', 'widgets'],
    ['https://github.com/acme/widgets/', 'acme', 'widgets'],
    ['<https://github.com/acme/widgets>', 'acme', 'widgets'],
    ['<https://github.com/acme/widgets|acme/widgets>', 'acme', 'widgets'],
    ['a-b/c.d_e-f', 'a-b', 'c.d_e-f'],
  ])('reads %s', (input, owner, name) => {
    expect(parseRepoRef(input, server)).toEqual({ owner, name });
  });

  it.each([
    [''],
    ['acme'],
    ['acme/widgets/extra'],
    ['acme/widgets now'],
    ['../etc'],
    ['acme/..'],
    ['acme/.'],
    ['acme/wid;rm -rf'],
    ['acme/$(id)'],
    ['acme/`id`'],
    ['-acme/widgets'],
    ['acme--x/widgets'],
    [`${'a'.repeat(40)}/widgets`],
    [`acme/${'w'.repeat(101)}`],
    ['https://evil.example.com/acme/widgets'],
    ['https://github.com/acme/widgets?x=1'],
    ['https://user:pw@github.com/acme/widgets'],
    ['https://github.com/acme/widgets/tree/main'],
    ['git@github.com:acme/widgets.git'],
  ])('rejects %s', (input) => {
    expect(parseRepoRef(input, server)).toBeUndefined();
  });

  it('accepts URLs of a GitHub Enterprise Server with a path prefix', () => {
    expect(parseRepoRef('https://ghe.example.com/code/acme/w', 'https://ghe.example.com/code')).toEqual({
      owner: 'acme',
      name: 'w',
    });
    expect(parseRepoRef('https://github.com/acme/w', 'https://ghe.example.com')).toBeUndefined();
  });
});
