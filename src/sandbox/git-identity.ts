/** Who the bot is in git: the author and committer of every commit it makes or publishes. */
export const BOT_GIT_NAME = 'ai-dev';
export const BOT_GIT_EMAIL = 'ai-dev@users.noreply.github.com';

/**
 * The environment of every git command the bot or the model runs in a sandbox: commits are by
 * the bot, and dated in UTC (`+0000`), which the publisher relies on to recreate identical
 * commits through GitHub's API. The sandbox's git config is left alone.
 */
export const BOT_GIT_ENV: Readonly<Record<string, string>> = {
  GIT_AUTHOR_NAME: BOT_GIT_NAME,
  GIT_AUTHOR_EMAIL: BOT_GIT_EMAIL,
  GIT_COMMITTER_NAME: BOT_GIT_NAME,
  GIT_COMMITTER_EMAIL: BOT_GIT_EMAIL,
  TZ: 'UTC',
};
