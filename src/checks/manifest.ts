import { readFile } from 'node:fs/promises';

/** `manifest.yml` at the package root (two levels up from src/checks and from dist/checks). */
export const MANIFEST_URL = new URL('../../manifest.yml', import.meta.url);

/** The bot scopes manifest.yml asks for (`oauth_config.scopes.bot`). */
export async function manifestBotScopes(url: URL = MANIFEST_URL): Promise<string[]> {
  return botScopesOf(await readFile(url, 'utf8'));
}

/**
 * Reads `oauth_config → scopes → bot` from the manifest's YAML: a block list of plain scalars, which is
 * all Slack's manifest uses there. (A YAML library is only a development dependency.)
 */
export function botScopesOf(yaml: string): string[] {
  const keys = ['oauth_config:', 'scopes:', 'bot:'];
  /** Indentation of each key found so far on the way down. */
  const found: number[] = [];
  const scopes: string[] = [];
  for (const raw of yaml.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    const text = line.trim();
    if (found.length === keys.length) {
      // The list may sit at the key's own indentation (YAML allows it) or deeper.
      if (text.startsWith('- ') && indent >= (found.at(-1) ?? 0)) {
        scopes.push(
          text
            .slice(2)
            .trim()
            .replace(/^(['"])(.*)\1$/, '$2'),
        );
        continue;
      }
      break;
    }
    // A line back at (or left of) a key's indentation leaves that key's block.
    while (found.length > 0 && indent <= (found.at(-1) ?? 0)) found.pop();
    if (text === keys[found.length]) found.push(indent);
  }
  return scopes;
}
