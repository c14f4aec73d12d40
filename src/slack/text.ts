/** Slack markup → plain text for the model: mentions, channels, links and entities. */
export function slackToPlainText(text: string, botUserId?: string): string {
  return text
    .replace(/<@([A-Z0-9]+)(?:\|([^>]+))?>/g, (_m, id: string, name?: string) =>
      id === botUserId ? '' : `@${name ?? id}`,
    )
    .replace(/<#([A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, name?: string) => `#${name || id}`)
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<!subteam\^[A-Z0-9]+(?:\|([^>]+))?>/g, (_m, name?: string) => name ?? '@group')
    .replace(/<([a-z][a-z0-9+.-]*:[^|>]+)\|([^>]+)>/gi, (_m, url: string, label: string) =>
      label === url || url.endsWith(label) ? url : `${label} (${url})`,
    )
    .replace(/<([a-z][a-z0-9+.-]*:[^>]+)>/gi, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}

/** Bounds a message given to the model; the cut is marked. */
export function boundText(text: string, max = 20_000): string {
  return text.length > max ? `${text.slice(0, max)}\n[… ${text.length - max} more characters cut]` : text;
}
