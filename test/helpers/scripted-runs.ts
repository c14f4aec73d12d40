import { text, toolCalls } from '../fakes/openai-server.js';

/** A scripted run that writes one file, opens a pull request and answers `summary`. */
export function publishScript(path: string, content: string, summary: string) {
  return [
    toolCalls([{ name: 'save_content_to_file', arguments: { path, content } }]),
    toolCalls([{ name: 'make_pull_request', arguments: { title: `Change ${path}`, body: `Changes ${path}.` } }]),
    text(summary),
  ];
}

/** Polls `probe` until it answers something truthy; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Waits until the bot's end-of-run read of `sha`'s checks and statuses has been answered. A check
 * changed before that read is seen by the read itself, so a test about what a webhook or a poll does
 * changes the check only after it.
 */
export async function checksReadAnswered(
  requests: readonly { method: string; path: string; status: number }[],
  repo: string,
  sha: string,
): Promise<void> {
  const answered = (what: string) =>
    requests.some((r) => r.method === 'GET' && r.path === `/repos/${repo}/commits/${sha}/${what}` && r.status !== 0);
  await waitFor('the end-of-run read of the checks', () => answered('check-runs') && answered('status'));
}
