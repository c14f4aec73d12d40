/**
 * One short line for an action's "started" progress: the first line of `text`, cut to `maxChars`,
 * naming the repo when the model picked one (a channel may link several).
 */
export function summaryLine(text: string, repo: string | null | undefined, maxChars = 120): string {
  const lines = text.trim().split('\n');
  const first = lines[0] ?? '';
  const cut = first.length > maxChars || lines.length > 1;
  const line = cut ? `${first.slice(0, maxChars)}…` : first;
  return repo ? `${line} (${repo})` : line;
}
