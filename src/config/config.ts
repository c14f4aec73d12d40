import { type NetworkPolicy, networkPolicy } from './network.js';
import { type PriceTable, parsePriceTable, type SandboxRates } from './prices.js';
import { cliEnvironmentSchema, environmentSchema, SLACK_VARIABLES } from './schema.js';

export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh' | 'max';

export type GitHubAuthConfig = { mode: 'token'; token: string } | { mode: 'app'; appId: string; privateKey: string };

export type SandboxConfig =
  | { provider: 'local' }
  | {
      provider: 'e2b';
      apiKey: string;
      template: string;
      /** The longest lifetime the E2B plan grants one sandbox. */
      maxLifetimeMinutes: number;
      domain: string | undefined;
      apiUrl: string | undefined;
      sandboxUrl: string | undefined;
    };

export interface Config {
  slack: {
    botToken: string;
    appToken: string | undefined;
    signingSecret: string | undefined;
    apiUrl: string | undefined;
    socketMode: boolean;
  };
  port: number;
  openai: {
    apiKey: string;
    baseUrl: string | undefined;
    model: string;
    reasoningEffort: ReasoningEffort;
  };
  github: {
    auth: GitHubAuthConfig;
    apiUrl: string;
    serverUrl: string;
    /** Verifies the webhooks on `POST /github/events`; without it checks are followed by polling. */
    webhookSecret: string | undefined;
  };
  sandbox: SandboxConfig;
  /** What sandboxes may reach (SANDBOX_NETWORK, SANDBOX_ALLOW_HOSTS). */
  network: NetworkPolicy;
  storeUrl: string;
  /** Who coordinates runs: this process alone (`local`), or a Restate server shared by several instances. */
  runEngine: RunEngineConfig;
  /** Where the host keeps its bare mirror of each linked repo (the sandboxes get bundles from them). */
  mirrorDir: string;
  /** PATH of the bot's host, where its own git is found. */
  hostPath: string;
  logLevel: string;
  /** `auto`: human-readable lines when standard output is a terminal, JSON otherwise. */
  logFormat: 'auto' | 'json' | 'pretty';
  limits: {
    maxTurns: number;
    maxTokens: number;
    maxMinutes: number;
    /** Runs at once on one instance; the rest wait, told their place. */
    maxConcurrentRuns: number;
    commandTimeoutSeconds: number;
    outputMaxChars: number;
    sandboxIdleMinutes: number;
    /** What happens to an idle sandbox: `pause` keeps it resumable on E2B. */
    sandboxIdleAction: 'kill' | 'pause';
    /** Fix attempts after a published head's checks fail; 0 only reports the failure. */
    ciFixAttempts: number;
    /** A request whose input would reach this many tokens is preceded by a compaction of the conversation. */
    compactAtInputTokens: number;
  };
  access: {
    linkUsers: string[];
    runUsers: string[];
    repoPatterns: string[];
    /** Slack Connect users from another organisation may run the bot. */
    externalUsers: boolean;
  };
  /** What a run costs: the model price table and the sandbox rates. */
  cost: {
    prices: PriceTable;
    sandbox: SandboxRates;
  };
  budget: {
    /** Dollars one run may spend before it pauses (a channel default or `budget=` in the mention may change it). */
    runMaxDollars: number;
    /** The most a person who is not a workspace admin may set for one run. */
    allowMaxDollars: number;
    /** Models a mention may pick with `model=`; always includes `openai.model`. */
    allowModels: string[];
  };
}

export type RunEngineConfig =
  | { kind: 'local' }
  | {
      kind: 'restate';
      ingressUrl: string;
      adminUrl: string;
      /** The port of this instance's Restate endpoint (0: any free port, for tests). */
      servicePort: number;
      /** How Restate reaches the instances (their balancer); registered as the deployment. */
      serviceUrl: string;
      /** Register the deployment at start (idempotent); false leaves it to the operator. */
      register: boolean;
    };

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

export type SlackConfig = Config['slack'];
/** Everything a run needs, whatever the front end: the configuration without Slack. */
export type CoreConfig = Omit<Config, 'slack'>;
/** The terminal's configuration (`ai-dev run`, `ai-dev doctor`): Slack only when SLACK_BOT_TOKEN is set. */
export interface CliConfig extends CoreConfig {
  slack: SlackConfig | undefined;
}
export type CliConfigResult = { ok: true; config: CliConfig } | { ok: false; problems: string[] };

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** A PEM pasted into one env line keeps its newlines as \n. */
const unescapePem = (pem: string) => (pem.includes('\\n') ? pem.replaceAll('\\n', '\n') : pem);

/**
 * Parses and checks every variable at once, so an operator sees all problems in one go.
 * Pure: it reads only the record it is given.
 */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const result = parseEnvironment(env, true);
  if (!result.ok) return result;
  const { slack } = result.config;
  if (!slack) return { ok: false, problems: ['SLACK_BOT_TOKEN is missing'] };
  return { ok: true, config: Object.freeze({ ...result.config, slack }) };
}

/**
 * The terminal's configuration: the bot's variables without the Slack ones. When SLACK_BOT_TOKEN is
 * set, the Slack variables are checked as the bot checks them (`ai-dev doctor` then tests them live);
 * otherwise they are ignored.
 */
export function parseCliConfig(env: Record<string, string | undefined>): CliConfigResult {
  const withSlack = (env.SLACK_BOT_TOKEN ?? '').trim() !== '';
  if (withSlack) return parseEnvironment(env, true);
  const rest = { ...env };
  for (const name of SLACK_VARIABLES) delete rest[name];
  return parseEnvironment(rest, false);
}

function parseEnvironment(env: Record<string, string | undefined>, slackRequired: boolean): CliConfigResult {
  const parsed = (slackRequired ? environmentSchema : cliEnvironmentSchema).safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join('.') || '(environment)';
      problems.push(`${name} ${issue.message}`);
    }
  }
  const e = parsed.success ? parsed.data : undefined;
  const raw = (name: string) => (env[name] ?? '').trim();

  if (slackRequired && !raw('SLACK_APP_TOKEN') && !raw('SLACK_SIGNING_SECRET')) {
    problems.push(
      'SLACK_SIGNING_SECRET is missing; HTTP mode (no SLACK_APP_TOKEN) needs the signing secret from Basic Information, or set SLACK_APP_TOKEN for Socket Mode',
    );
  }
  const hasToken = raw('GITHUB_TOKEN') !== '';
  const hasApp = raw('GITHUB_APP_ID') !== '' || raw('GITHUB_APP_PRIVATE_KEY') !== '';
  if (!hasToken && !hasApp) {
    problems.push(
      'GITHUB_TOKEN is missing; set a token that can read and push the linked repos, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for a GitHub App',
    );
  }
  if (hasToken && hasApp) {
    problems.push('GITHUB_TOKEN and GITHUB_APP_ID/GITHUB_APP_PRIVATE_KEY are both set; choose one way to reach GitHub');
  }
  if (!hasToken && hasApp) {
    if (!raw('GITHUB_APP_ID')) problems.push('GITHUB_APP_ID is missing; GitHub App mode needs the numeric App ID');
    if (!raw('GITHUB_APP_PRIVATE_KEY')) {
      problems.push('GITHUB_APP_PRIVATE_KEY is missing; GitHub App mode needs the App’s private key (PEM)');
    } else if (!unescapePem(raw('GITHUB_APP_PRIVATE_KEY')).includes('PRIVATE KEY-----')) {
      problems.push('GITHUB_APP_PRIVATE_KEY must be the PEM private key downloaded from the GitHub App settings');
    }
  }
  if (raw('RUN_ENGINE') === 'restate') {
    if (!raw('RESTATE_INGRESS_URL'))
      problems.push(
        'RESTATE_INGRESS_URL is missing; RUN_ENGINE=restate needs the Restate ingress URL (e.g. http://127.0.0.1:8080)',
      );
    if (!raw('RESTATE_ADMIN_URL'))
      problems.push(
        'RESTATE_ADMIN_URL is missing; RUN_ENGINE=restate needs the Restate admin URL (e.g. http://127.0.0.1:9070)',
      );
  }
  if ((env.SANDBOX_PROVIDER ?? '').trim() !== 'local' && !raw('E2B_API_KEY')) {
    problems.push('E2B_API_KEY is missing; set your E2B API key, or SANDBOX_PROVIDER=local for development only');
  }

  const prices = parsePriceTable(env.MODEL_PRICES);
  if (!prices.ok) problems.push(...prices.problems);

  if (problems.length > 0 || !e || !prices.ok)
    return { ok: false, problems: problems.length > 0 ? problems : ['invalid'] };

  const githubAuth: GitHubAuthConfig = e.GITHUB_TOKEN
    ? { mode: 'token', token: e.GITHUB_TOKEN }
    : { mode: 'app', appId: e.GITHUB_APP_ID ?? '', privateKey: unescapePem(e.GITHUB_APP_PRIVATE_KEY ?? '') };

  const config: CliConfig = {
    slack:
      e.SLACK_BOT_TOKEN === undefined
        ? undefined
        : {
            botToken: e.SLACK_BOT_TOKEN,
            appToken: e.SLACK_APP_TOKEN,
            signingSecret: e.SLACK_SIGNING_SECRET,
            apiUrl: e.SLACK_API_URL,
            socketMode: e.SLACK_APP_TOKEN !== undefined,
          },
    port: e.PORT,
    openai: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL ? trimSlash(e.OPENAI_BASE_URL) : undefined,
      model: e.OPENAI_MODEL,
      reasoningEffort: e.OPENAI_REASONING_EFFORT,
    },
    github: {
      auth: githubAuth,
      apiUrl: trimSlash(e.GITHUB_API_URL ?? 'https://api.github.com'),
      serverUrl: trimSlash(e.GITHUB_SERVER_URL ?? 'https://github.com'),
      webhookSecret: e.GITHUB_WEBHOOK_SECRET,
    },
    sandbox:
      e.SANDBOX_PROVIDER === 'local'
        ? { provider: 'local' }
        : {
            provider: 'e2b',
            apiKey: e.E2B_API_KEY ?? '',
            template: e.E2B_TEMPLATE,
            maxLifetimeMinutes: e.E2B_MAX_SANDBOX_MINUTES,
            domain: e.E2B_DOMAIN,
            apiUrl: e.E2B_API_URL ? trimSlash(e.E2B_API_URL) : undefined,
            sandboxUrl: e.E2B_SANDBOX_URL ? trimSlash(e.E2B_SANDBOX_URL) : undefined,
          },
    network: networkPolicy(
      e.SANDBOX_NETWORK,
      trimSlash(e.GITHUB_SERVER_URL ?? 'https://github.com'),
      e.SANDBOX_ALLOW_HOSTS,
    ),
    storeUrl: e.STORE_URL,
    runEngine:
      e.RUN_ENGINE === 'restate'
        ? {
            kind: 'restate',
            ingressUrl: trimSlash(e.RESTATE_INGRESS_URL ?? ''),
            adminUrl: trimSlash(e.RESTATE_ADMIN_URL ?? ''),
            servicePort: e.RESTATE_SERVICE_PORT,
            serviceUrl: trimSlash(e.RESTATE_SERVICE_URL ?? `http://127.0.0.1:${e.RESTATE_SERVICE_PORT}`),
            register: e.RESTATE_REGISTER === 'true',
          }
        : { kind: 'local' },
    mirrorDir: e.MIRROR_DIR,
    hostPath: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    limits: {
      maxTurns: e.RUN_MAX_TURNS,
      maxTokens: e.RUN_MAX_TOKENS,
      maxMinutes: e.RUN_MAX_MINUTES,
      maxConcurrentRuns: e.RUN_MAX_CONCURRENT,
      commandTimeoutSeconds: e.COMMAND_TIMEOUT_SECONDS,
      outputMaxChars: e.OUTPUT_MAX_CHARS,
      sandboxIdleMinutes: e.SANDBOX_IDLE_MINUTES,
      sandboxIdleAction: e.SANDBOX_IDLE_ACTION,
      ciFixAttempts: e.CI_FIX_ATTEMPTS,
      compactAtInputTokens: e.COMPACT_AT_INPUT_TOKENS,
    },
    access: {
      linkUsers: e.ALLOW_LINK_USERS,
      runUsers: e.ALLOW_RUN_USERS,
      repoPatterns: e.ALLOW_REPOS,
      externalUsers: e.ALLOW_EXTERNAL_USERS === 'true',
    },
    cost: {
      prices: prices.table,
      sandbox: {
        vcpus: e.SANDBOX_VCPUS,
        memoryGib: e.SANDBOX_MEMORY_GIB,
        vcpuSecondDollars: e.SANDBOX_VCPU_PRICE,
        gibSecondDollars: e.SANDBOX_GIB_PRICE,
      },
    },
    budget: {
      runMaxDollars: e.RUN_MAX_DOLLARS,
      allowMaxDollars: e.ALLOW_MAX_DOLLARS,
      allowModels: [...new Set([e.OPENAI_MODEL.toLowerCase(), ...e.ALLOW_MODELS])],
    },
  };
  return { ok: true, config: Object.freeze(config) };
}

/** Every secret value in the configuration, for the redactor. */
export function secretValues(config: CoreConfig & { slack?: SlackConfig | undefined }): string[] {
  const values = [
    config.slack?.botToken,
    config.slack?.appToken,
    config.slack?.signingSecret,
    config.openai.apiKey,
    config.github.webhookSecret,
  ];
  if (config.github.auth.mode === 'token') values.push(config.github.auth.token);
  else values.push(config.github.auth.privateKey);
  if (config.sandbox.provider === 'e2b') values.push(config.sandbox.apiKey);
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}
