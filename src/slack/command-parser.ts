import { parseRepoRef, type RepoRef } from '../github/repo-ref.js';

export type ParsedCommand =
  | { kind: 'help' }
  | { kind: 'list' }
  /** `/ai-dev config …`: the words after `config`. */
  | { kind: 'config'; words: string[] }
  | { kind: 'link'; repo: RepoRef }
  | { kind: 'unlink'; repo: RepoRef }
  | { kind: 'invalid'; problem: string; usage: string };

export const LINK_USAGE = 'Usage: `/ai-dev link owner/repo` (or a GitHub URL such as https://github.com/owner/repo)';
export const UNLINK_USAGE = 'Usage: `/ai-dev unlink owner/repo`';

/** Reads the text after `/ai-dev`; anything it does not understand becomes help or a usage line. */
export function parseCommand(text: string, serverUrl: string): ParsedCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb, ...rest] = words;
  switch (verb?.toLowerCase()) {
    case undefined:
    case 'help':
      return { kind: 'help' };
    case 'list':
      return { kind: 'list' };
    case 'config':
      return { kind: 'config', words: rest };
    case 'link':
    case 'unlink': {
      const usage = verb.toLowerCase() === 'link' ? LINK_USAGE : UNLINK_USAGE;
      if (rest.length === 0) return { kind: 'invalid', problem: 'Which repo? Name it as owner/repo.', usage };
      if (rest.length > 1) return { kind: 'invalid', problem: 'Give exactly one repo, with nothing after it.', usage };
      const repo = parseRepoRef(rest[0] ?? '', serverUrl);
      if (!repo) {
        return { kind: 'invalid', problem: `\`${clip(rest[0] ?? '')}\` is not a GitHub repo name or URL.`, usage };
      }
      return verb.toLowerCase() === 'link' ? { kind: 'link', repo } : { kind: 'unlink', repo };
    }
    default:
      return { kind: 'help' };
  }
}

/** Echoed input stays short and cannot break out of the inline code span. */
function clip(text: string): string {
  const clean = text.replace(/`/g, "'");
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
