import OpenAI, {
  APIConnectionError,
  APIError,
  AuthenticationError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import type { CoreConfig } from '../config/config.js';
import { CHECK_TIMEOUT_MS, type CheckResult, fail, networkCode, ok, skip, warn } from './check.js';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * The OpenAI key and the configured model with one request, `GET /v1/models/{model}`: a 401 is the
 * key, a 404 the model. Two lines: the key, then the model.
 */
export async function checkOpenAI(openai: CoreConfig['openai']): Promise<[CheckResult, CheckResult]> {
  const keyName = 'OpenAI API key';
  const modelName = 'OpenAI model';
  const baseUrl = openai.baseUrl ?? DEFAULT_BASE_URL;
  const url = `${baseUrl}/models/${encodeURIComponent(openai.model)}`;
  const client = new OpenAI({
    apiKey: openai.apiKey,
    baseURL: baseUrl,
    maxRetries: 1,
    timeout: CHECK_TIMEOUT_MS,
  });
  try {
    const model = await client.models.retrieve(openai.model);
    return [ok(keyName, `accepted by ${baseUrl}`), ok(modelName, `${model.id} is available to this key`)];
  } catch (error) {
    const notChecked = skip(modelName, `${openai.model}: not checked (the key was refused)`);
    if (error instanceof AuthenticationError) {
      return [
        fail(
          keyName,
          `${baseUrl} refused OPENAI_API_KEY (401)`,
          'create a key at https://platform.openai.com/api-keys and set OPENAI_API_KEY',
          'OPENAI_API_KEY',
        ),
        notChecked,
      ];
    }
    if (error instanceof NotFoundError) {
      return [
        ok(keyName, `accepted by ${baseUrl}`),
        fail(
          modelName,
          `${openai.model} does not exist or this key has no access to it (404 from ${url})`,
          'set OPENAI_MODEL to a model your project can use (GET /v1/models lists them)',
          'OPENAI_MODEL',
        ),
      ];
    }
    if (error instanceof PermissionDeniedError) {
      return [
        fail(
          keyName,
          `the key may not read ${url} (403)`,
          'give the key’s project access to the model (or the "Models: read" permission of a restricted key)',
          'OPENAI_API_KEY',
        ),
        notChecked,
      ];
    }
    if (error instanceof RateLimitError) {
      return [
        warn(
          keyName,
          `${baseUrl} answered 429 (rate limit or no quota)`,
          'check the project’s billing and limits at https://platform.openai.com/settings',
          'OPENAI_API_KEY',
        ),
        skip(modelName, `${openai.model}: not checked (rate limited)`),
      ];
    }
    if (error instanceof APIConnectionError) {
      return [
        fail(
          keyName,
          `could not reach ${url} (${networkCode(error) ?? error.message})`,
          'check the network, a proxy, and OPENAI_BASE_URL (it must include /v1)',
          openai.baseUrl ? 'OPENAI_BASE_URL' : undefined,
        ),
        skip(modelName, `${openai.model}: not checked`),
      ];
    }
    const status = error instanceof APIError ? ` (HTTP ${String(error.status)})` : '';
    return [
      fail(
        keyName,
        `${url} failed${status}: ${error instanceof Error ? error.message : String(error)}`,
        'check OPENAI_BASE_URL and the key',
      ),
      skip(modelName, `${openai.model}: not checked`),
    ];
  }
}
