import { type CheckResult, fail, skip } from '../checks/check.js';
import { checkE2B } from '../checks/e2b.js';
import { checkGitHubCredential, checkRepoPush } from '../checks/github.js';
import { manifestBotScopes } from '../checks/manifest.js';
import { checkOpenAI } from '../checks/openai.js';
import { checkRestate } from '../checks/restate.js';
import { checkSigningSecret, checkSlackAppToken, checkSlackBotToken, checkSlackScopes } from '../checks/slack.js';
import { checkStore } from '../checks/store.js';
import { parseCliConfig } from '../config/config.js';
import { octokitFactory } from '../github/octokit.js';
import { buildLogging, githubCredentials } from '../wiring.js';
import type { CliIO } from './io.js';

const TAGS: Record<CheckResult['status'], string> = { ok: 'ok', warn: 'warn', fail: 'FAIL', skip: 'skip' };

/** One line: `FAIL  Slack app token: Slack refused SLACK_APP_TOKEN (invalid_auth) → fix: …`. */
export function formatCheck(result: CheckResult): string {
  const fix = result.fix && result.status !== 'ok' ? ` → fix: ${result.fix}` : '';
  return `${TAGS[result.status].padEnd(5)} ${result.name}: ${result.detail}${fix}`;
}

/**
 * `ai-dev doctor`: every credential and endpoint checked live, one line each with what to fix, before
 * Slack (or a user's run) meets a wrong one. Exits 1 when a check fails, 2 when the configuration
 * itself does not parse.
 */
export async function doctor(io: CliIO): Promise<number> {
  const print = (line: string) => io.stdout.write(`${line}\n`);
  const parsed = parseCliConfig(io.env);
  if (!parsed.ok) {
    print('ai-dev doctor: the configuration does not parse, so nothing was checked live.');
    for (const problem of parsed.problems) print(formatCheck(fail('Configuration', problem, 'see .env.example')));
    return 2;
  }
  const config = parsed.config;
  const { logger, redact } = buildLogging(config, {
    ...io.overrides,
    logDestination: io.overrides?.logDestination ?? io.stderr,
    logLevel: 'silent',
  });
  const line = (result: CheckResult) => print(redact(formatCheck(result)));
  print('ai-dev doctor: checking each credential and endpoint live');

  const octokitFor = octokitFactory({ baseUrl: config.github.apiUrl, logger, throttle: false, retries: 0 });
  const credentials = githubCredentials(config, octokitFor, redact);
  const slack = config.slack;
  const slackChecks: Promise<CheckResult[]> = slack
    ? (async () => {
        const [bot, app] = await Promise.all([checkSlackBotToken(slack), checkSlackAppToken(slack)]);
        const wanted = await manifestBotScopes().catch(() => undefined);
        const scopes =
          bot.status !== 'ok'
            ? skip('Slack bot scopes', 'not checked (the bot token failed)')
            : wanted
              ? checkSlackScopes(bot.identity?.scopes, wanted)
              : skip('Slack bot scopes', 'manifest.yml not found beside the package');
        return [bot, scopes, app, checkSigningSecret(slack)];
      })()
    : Promise.resolve([skip('Slack', 'SLACK_BOT_TOKEN is not set: the Slack bot needs it, `ai-dev run` does not')]);
  const [slackResults, openaiResults, githubResult, e2bResults, store, restateResults] = await Promise.all([
    slackChecks,
    checkOpenAI(config.openai),
    checkGitHubCredential(config.github, octokitFor),
    checkE2B(config.sandbox),
    checkStore(config.storeUrl, logger),
    checkRestate(config.runEngine),
  ]);
  const results: CheckResult[] = [...slackResults, ...openaiResults, githubResult];
  for (const result of results) line(result);

  // Push access per linked repo: only worth asking with a credential GitHub accepts.
  const repos = [...store.repos.keys()].sort();
  const repoResults =
    githubResult.status === 'fail'
      ? repos.map((repo) => skip(`GitHub ${repo}`, 'not checked (the GitHub credential failed)'))
      : await Promise.all(repos.map((repo) => checkRepoPush(repo, config.github, credentials, octokitFor)));
  for (const result of repoResults) line(result);
  if (repos.length === 0 && store.result.status === 'ok') {
    line(skip('GitHub repos', 'no repo is linked yet (/ai-dev link owner/repo in Slack)'));
  }
  for (const result of [...e2bResults, store.result, ...restateResults]) line(result);

  const all = [...results, ...repoResults, ...e2bResults, store.result, ...restateResults];
  const failed = all.filter((r) => r.status === 'fail');
  const warned = all.filter((r) => r.status === 'warn');
  print('');
  if (failed.length > 0) {
    const variables = [...new Set(failed.map((r) => r.variable).filter((v): v is string => Boolean(v)))];
    print(
      `${failed.length} check${failed.length === 1 ? '' : 's'} failed${variables.length > 0 ? ` (look at ${variables.join(', ')})` : ''}${warned.length > 0 ? `, ${warned.length} warning${warned.length === 1 ? '' : 's'}` : ''}.`,
    );
    return 1;
  }
  print(
    `Every check passed${warned.length > 0 ? `, with ${warned.length} warning${warned.length === 1 ? '' : 's'}` : ''}.`,
  );
  return 0;
}
