import { parseRepoRef, type RepoRef } from '../github/repo-ref.js';

export type ParsedCommand =
  | { kind: 'help' }
  | { kind: 'list' }
  /** `/ai-dev config …`: the words after `config`. */
  | { kind: 'config'; words: string[] }
  | {
      kind: 'link';
      repo: RepoRef;
      /** `--setup "npm ci"`: the commands that make a new sandbox ready, instead of `.ai-dev/setup.sh`. */
      setup?: string;
      /** `--template NAME`: the E2B template of this repo's sandboxes. */
      template?: string;
    }
  | { kind: 'unlink'; repo: RepoRef }
  | { kind: 'invalid'; problem: string; usage: string };

export const LINK_USAGE =
  'Usage: `/ai-dev link owner/repo [--setup "npm ci"] [--template NAME]` (or a GitHub URL such as https://github.com/owner/repo)';
/** E2B template names and ids (`name`, `team/name`, `name:tag`). */
const TEMPLATE_RE = /^[A-Za-z0-9][\w./:-]{0,99}$/;
const SETUP_MAX_CHARS = 2000;
export const UNLINK_USAGE = 'Usage: `/ai-dev unlink owner/repo`';

/** Reads the text after `/ai-dev`; anything it does not understand becomes help or a usage line. */
export function parseCommand(text: string, serverUrl: string): ParsedCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb] = words;
  if (verb?.toLowerCase() === 'link') return parseLink(text.trim().slice(verb.length), serverUrl);
  const rest = words.slice(1);
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

/** `link owner/repo [--setup "commands"] [--template NAME]`. */
function parseLink(text: string, serverUrl: string): ParsedCommand {
  const invalid = (problem: string): ParsedCommand => ({ kind: 'invalid', problem, usage: LINK_USAGE });
  // Slack may turn straight quotes into typographic ones.
  const normal = text.replace(/[\u201c\u201d]/g, '"').replace(/[\u2018\u2019]/g, "'");
  const tokens = [...normal.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  let repoText: string | undefined;
  let setup: string | undefined;
  let template: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (token === '--setup' || token === '--template') {
      const value = tokens[++i]?.trim();
      if (!value) return invalid(`\`${token}\` needs a value.`);
      if (token === '--setup') {
        if (value.length > SETUP_MAX_CHARS)
          return invalid(`The set-up command may have at most ${SETUP_MAX_CHARS} characters.`);
        setup = value;
      } else {
        if (!TEMPLATE_RE.test(value)) return invalid(`\`${clip(value)}\` is not an E2B template name.`);
        template = value;
      }
    } else if (repoText === undefined) {
      repoText = token;
    } else {
      return invalid('Give exactly one repo, with nothing after it but --setup and --template.');
    }
  }
  if (repoText === undefined) return invalid('Which repo? Name it as owner/repo.');
  const repo = parseRepoRef(repoText, serverUrl);
  if (!repo) return invalid(`\`${clip(repoText)}\` is not a GitHub repo name or URL.`);
  return { kind: 'link', repo, ...(setup ? { setup } : {}), ...(template ? { template } : {}) };
}

/** Echoed input stays short and cannot break out of the inline code span. */
function clip(text: string): string {
  const clean = text.replace(/`/g, "'");
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
