/**
 * The environment of every git command the bot or the model runs in a sandbox: commits are by
 * the bot, and dated in UTC (`+0000`), which the publisher relies on to recreate identical
 * commits through GitHub's API. The sandbox's git config is left alone.
 */
export const BOT_GIT_ENV: Readonly<Record<string, string>> = {
  GIT_AUTHOR_NAME: 'ai-dev',
  GIT_AUTHOR_EMAIL: 'ai-dev@users.noreply.github.com',
  GIT_COMMITTER_NAME: 'ai-dev',
  GIT_COMMITTER_EMAIL: 'ai-dev@users.noreply.github.com',
  TZ: 'UTC',
};
