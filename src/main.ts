import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseConfig, secretValues } from './config/config.js';
import { readEnvironment } from './config/environment.js';
import { errorMessage } from './lib/errors.js';
import { createRedactor } from './lib/redact.js';

/** The process: configuration from the environment, the bot, and a clean exit on a signal. */
async function main(): Promise<void> {
  const parsed = parseConfig(readEnvironment());
  if (!parsed.ok) {
    process.stderr.write(
      `ai-dev cannot start; fix these environment variables (see README.md and .env.example):\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  // Loaded only once the configuration is good: a configuration error is reported without loading
  // the SDKs (Slack, OpenAI, GitHub, E2B), which takes most of a start.
  const { startBot } = await import('./wiring.js');
  let bot: Awaited<ReturnType<typeof startBot>>;
  try {
    bot = await startBot(parsed.config);
  } catch (error) {
    const redact = createRedactor(secretValues(parsed.config));
    process.stderr.write(`ai-dev failed to start: ${redact(errorMessage(error))}\n`);
    // Exit even if an SDK left a socket or timer open while failing.
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    bot.logger.info({ signal }, 'shutting down');
    bot.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  await main();
}
