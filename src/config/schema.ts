import { z } from 'zod';
import { SANDBOX_PRICE_DEFAULTS } from './prices.js';

/** Defaults for the limits of one run; documented in the README's environment table. */
export const LIMIT_DEFAULTS = {
  RUN_MAX_TURNS: 80,
  RUN_MAX_TOKENS: 4_000_000,
  RUN_MAX_MINUTES: 45,
  RUN_MAX_CONCURRENT: 10,
  COMMAND_TIMEOUT_SECONDS: 900,
  OUTPUT_MAX_CHARS: 16_000,
  SANDBOX_IDLE_MINUTES: 30,
  CI_FIX_ATTEMPTS: 2,
  /** Below the 272 000-token long-context price step of the current models, with room for one turn's growth. */
  COMPACT_AT_INPUT_TOKENS: 200_000,
} as const;

const emptyToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const optionalString = z.preprocess(emptyToUndefined, z.string().trim().optional());

const url = (hint: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .refine((value) => /^https?:\/\//.test(value) && URL.canParse(value), {
        message: `must be an http(s) URL; ${hint}`,
      })
      .optional(),
  );

const positiveInt = (fallback: number, max: number, min = 1) =>
  z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ message: 'must be a whole number' })
      .int({ message: 'must be a whole number' })
      .min(min, { message: `must be at least ${min}` })
      .max(max, { message: `must be at most ${max}` })
      .default(fallback),
  );

/** A comma-separated list, each item normalised and then checked against `item`. */
const commaList = (item: RegExp, message: string, normalise: (text: string) => string = (text) => text) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .optional()
      .transform((value) =>
        (value ?? '')
          .split(',')
          .map((entry) => normalise(entry.trim()))
          .filter(Boolean),
      )
      .refine((items) => items.every((entry) => item.test(entry)), { message }),
  );

const idList = (what: string) =>
  commaList(/^[A-Z0-9]+$/, `must be comma-separated Slack ${what} ids such as U012ABCDEF`);

const repoPatterns = commaList(
  /^[a-z0-9*][a-z0-9*-]*\/[a-z0-9._*-]+$/,
  'must be comma-separated repo patterns such as acme/* or acme/widgets',
  (text) => text.toLowerCase(),
);

/** Defaults of the budgets in dollars; documented in the README's environment table. */
export const BUDGET_DEFAULTS = {
  RUN_MAX_DOLLARS: 10,
  ALLOW_MAX_DOLLARS: 25,
} as const;

/** A positive amount (dollars, or a rate or size) with a default; `max` keeps a typo from meaning "unlimited". */
const positiveNumber = (fallback: number, max: number, what = 'number') =>
  z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ message: `must be a ${what}` })
      .refine((value) => Number.isFinite(value) && value > 0, { message: `must be a ${what} above 0` })
      .refine((value) => value <= max, { message: `must be at most ${max}` })
      .default(fallback),
  );

/** An amount of dollars: "10", "2.50" or "$2.50", at most in cents. */
const dollarAmount = (fallback: number, max: number) =>
  z.preprocess(
    (value) => {
      const v = emptyToUndefined(value);
      return typeof v === 'string' ? v.trim().replace(/^\$/, '') : v;
    },
    z
      .string()
      .regex(/^\d+(\.\d{1,2})?$/, { message: 'must be an amount of dollars such as 10 or 2.50' })
      .transform(Number)
      .refine((value) => value > 0, { message: 'must be above $0' })
      .refine((value) => value <= max, { message: `must be at most $${max}` })
      .optional()
      .transform((value) => value ?? fallback),
  );

const modelList = commaList(
  /^[a-z0-9][a-z0-9._:-]*$/,
  'must be comma-separated model names such as gpt-6.2-sol,gpt-6.2-astra',
  (text) => text.toLowerCase(),
);

/** Every variable the bot reads; `refine` rules that span variables live in config.ts. */
export const environmentSchema = z.object({
  SLACK_BOT_TOKEN: z
    .string({ message: 'is missing; set it to the bot token (xoxb-…) from the app’s OAuth & Permissions page' })
    .trim()
    .min(1, { message: 'is empty; set it to the bot token (xoxb-…) from the app’s OAuth & Permissions page' })
    .refine((v) => v.startsWith('xoxb-'), { message: 'must be a bot token starting with xoxb-' }),
  SLACK_APP_TOKEN: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .refine((v) => v.startsWith('xapp-'), {
        message: 'must be an app-level token starting with xapp- (Basic Information → App-Level Tokens)',
      })
      .optional(),
  ),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_API_URL: url('leave it unset for Slack’s own https://slack.com/api/'),
  PORT: positiveInt(3000, 65535),
  OPENAI_API_KEY: z
    .string({ message: 'is missing; set it to an OpenAI API key (sk-…)' })
    .trim()
    .min(1, { message: 'is empty; set it to an OpenAI API key (sk-…)' }),
  OPENAI_BASE_URL: url('it must include /v1, e.g. https://api.openai.com/v1'),
  OPENAI_MODEL: z.preprocess(emptyToUndefined, z.string().trim().default('gpt-6.2-sol')),
  OPENAI_REASONING_EFFORT: z.preprocess(
    emptyToUndefined,
    z
      .enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'], {
        message: 'must be one of none, minimal, low, medium, high, xhigh, max',
      })
      .default('medium'),
  ),
  GITHUB_TOKEN: optionalString,
  GITHUB_APP_ID: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .regex(/^\d+$/, { message: 'must be the numeric App ID from the GitHub App’s settings page' })
      .optional(),
  ),
  GITHUB_APP_PRIVATE_KEY: optionalString,
  GITHUB_API_URL: url('for GitHub Enterprise Server use https://<host>/api/v3'),
  GITHUB_SERVER_URL: url('for GitHub Enterprise Server use https://<host>'),
  SANDBOX_NETWORK: z.preprocess(
    emptyToUndefined,
    z.enum(['registries', 'open', 'none'], { message: 'must be registries, open or none' }).default('registries'),
  ),
  SANDBOX_ALLOW_HOSTS: commaList(
    /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+$/,
    'must be comma-separated host names such as pkg.example.com or *.example.com',
    (text) => text.toLowerCase(),
  ),
  // Signs the GitHub App's webhooks (POST /github/events); the redactor ignores values under 8 characters.
  GITHUB_WEBHOOK_SECRET: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .min(16, { message: 'must be at least 16 characters; use a long random string (e.g. openssl rand -hex 32)' })
      .optional(),
  ),
  SANDBOX_PROVIDER: z.preprocess(
    emptyToUndefined,
    z.enum(['e2b', 'local'], { message: 'must be e2b or local' }).default('e2b'),
  ),
  E2B_API_KEY: optionalString,
  E2B_TEMPLATE: z.preprocess(emptyToUndefined, z.string().trim().default('base')),
  // E2B refuses a longer sandbox lifetime than the plan allows: 1 h on Hobby, 24 h on Pro.
  E2B_MAX_SANDBOX_MINUTES: positiveInt(60, 24 * 60),
  E2B_DOMAIN: optionalString,
  E2B_API_URL: url('leave it unset for E2B’s own API'),
  E2B_SANDBOX_URL: url('leave it unset for E2B’s own sandboxes'),
  STORE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .refine((v) => /^(sqlite:\/\/.+|rediss?:\/\/.+)$/.test(v), {
        message: 'must be sqlite://<path> or redis://host:port (rediss:// for TLS)',
      })
      .default('sqlite://data/ai-dev.sqlite'),
  ),
  MIRROR_DIR: z.preprocess(emptyToUndefined, z.string().trim().default('data/mirrors')),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        message: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
  ),
  LOG_FORMAT: z.preprocess(
    emptyToUndefined,
    z.enum(['auto', 'json', 'pretty'], { message: 'must be auto, json or pretty' }).default('auto'),
  ),
  RUN_MAX_TURNS: positiveInt(LIMIT_DEFAULTS.RUN_MAX_TURNS, 10_000),
  RUN_MAX_TOKENS: positiveInt(LIMIT_DEFAULTS.RUN_MAX_TOKENS, 1_000_000_000),
  RUN_MAX_MINUTES: positiveInt(LIMIT_DEFAULTS.RUN_MAX_MINUTES, 24 * 60),
  RUN_MAX_CONCURRENT: positiveInt(LIMIT_DEFAULTS.RUN_MAX_CONCURRENT, 1000),
  COMMAND_TIMEOUT_SECONDS: positiveInt(LIMIT_DEFAULTS.COMMAND_TIMEOUT_SECONDS, 24 * 3600),
  // Below about a thousand characters the model cannot see enough of an error to act on it.
  OUTPUT_MAX_CHARS: positiveInt(LIMIT_DEFAULTS.OUTPUT_MAX_CHARS, 1_000_000, 1000),
  SANDBOX_IDLE_MINUTES: positiveInt(LIMIT_DEFAULTS.SANDBOX_IDLE_MINUTES, 24 * 60),
  // 0 turns fixing failed checks off: the thread is told they failed and nothing more.
  CI_FIX_ATTEMPTS: positiveInt(LIMIT_DEFAULTS.CI_FIX_ATTEMPTS, 10, 0),
  // Compacting below ~10 000 tokens would leave the model too little of the run to go on with.
  COMPACT_AT_INPUT_TOKENS: positiveInt(LIMIT_DEFAULTS.COMPACT_AT_INPUT_TOKENS, 2_000_000, 10_000),
  SANDBOX_IDLE_ACTION: z.preprocess(
    emptyToUndefined,
    // Paused E2B sandboxes cost nothing and resume as they were: a follow-up starts in seconds.
    z.enum(['kill', 'pause'], { message: 'must be kill or pause' }).default('pause'),
  ),
  RUN_ENGINE: z.preprocess(
    emptyToUndefined,
    z.enum(['local', 'restate'], { message: 'must be local or restate' }).default('local'),
  ),
  RESTATE_INGRESS_URL: url('the Restate server’s ingress, e.g. http://127.0.0.1:8080'),
  RESTATE_ADMIN_URL: url('the Restate server’s admin API, e.g. http://127.0.0.1:9070'),
  RESTATE_SERVICE_PORT: positiveInt(9080, 65535, 0),
  RESTATE_SERVICE_URL: url('how Restate reaches the bot instances (their balancer), e.g. http://10.0.0.5:9080'),
  RESTATE_REGISTER: z.preprocess(
    emptyToUndefined,
    z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
  ),
  ALLOW_LINK_USERS: idList('user'),
  ALLOW_RUN_USERS: idList('user'),
  ALLOW_REPOS: repoPatterns,
  ALLOW_EXTERNAL_USERS: z.preprocess(
    emptyToUndefined,
    z.enum(['true', 'false'], { message: 'must be true or false' }).default('false'),
  ),
  RUN_MAX_DOLLARS: dollarAmount(BUDGET_DEFAULTS.RUN_MAX_DOLLARS, 1_000_000),
  ALLOW_MAX_DOLLARS: dollarAmount(BUDGET_DEFAULTS.ALLOW_MAX_DOLLARS, 1_000_000),
  ALLOW_MODELS: modelList,
  // JSON, checked in config.ts (prices.ts) so that its message can say what is wrong with it.
  MODEL_PRICES: optionalString,
  SANDBOX_VCPU_PRICE: positiveNumber(SANDBOX_PRICE_DEFAULTS.SANDBOX_VCPU_PRICE, 1, 'price in dollars per vCPU-second'),
  SANDBOX_GIB_PRICE: positiveNumber(SANDBOX_PRICE_DEFAULTS.SANDBOX_GIB_PRICE, 1, 'price in dollars per GiB-second'),
  SANDBOX_VCPUS: positiveNumber(SANDBOX_PRICE_DEFAULTS.SANDBOX_VCPUS, 1024, 'number of vCPUs'),
  SANDBOX_MEMORY_GIB: positiveNumber(SANDBOX_PRICE_DEFAULTS.SANDBOX_MEMORY_GIB, 4096, 'number of GiB'),
});

export type Environment = z.infer<typeof environmentSchema>;

/** The Slack variables: the terminal front end (`ai-dev run`, `ai-dev doctor`) does not need them. */
export const SLACK_VARIABLES = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_API_URL'] as const;

/** The same variables with the Slack bot token optional: the terminal's configuration. */
export const cliEnvironmentSchema = environmentSchema.extend({ SLACK_BOT_TOKEN: z.string().optional() });
