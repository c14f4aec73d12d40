import { AuthenticationError, type ConnectionOpts, Sandbox, Template } from 'e2b';
import type { SandboxConfig } from '../config/config.js';
import { CHECK_TIMEOUT_MS, type CheckResult, fail, networkCode, ok, skip, warn } from './check.js';

type E2BConfig = Extract<SandboxConfig, { provider: 'e2b' }>;

/**
 * The E2B key and template without starting a sandbox (which is billed and takes seconds): listing
 * one running sandbox proves the key (`GET /v2/sandboxes?limit=1`), and the template's name is looked up
 * (`GET /templates/aliases/{name}`, the SDK's `Template.exists`).
 */
export async function checkE2B(sandbox: SandboxConfig): Promise<[CheckResult, CheckResult]> {
  const keyName = 'E2B API key';
  const templateName = 'E2B template';
  if (sandbox.provider !== 'e2b') {
    return [
      warn(
        'Sandbox provider',
        'SANDBOX_PROVIDER=local: commands run on this host, in a temporary directory',
        'for development only; set SANDBOX_PROVIDER=e2b and E2B_API_KEY for real use',
        'SANDBOX_PROVIDER',
      ),
      skip(templateName, 'not used by the local provider'),
    ];
  }
  const opts = connection(sandbox);
  const where = sandbox.apiUrl ?? `https://api.${sandbox.domain ?? 'e2b.app'}`;
  try {
    await Sandbox.list({ ...opts, limit: 1 }).nextItems();
  } catch (error) {
    const notChecked = skip(templateName, `${sandbox.template}: not checked`);
    if (error instanceof AuthenticationError) {
      return [
        fail(
          keyName,
          `E2B refused E2B_API_KEY (${error.message.split('\n')[0]})`,
          'copy a key from https://e2b.dev/dashboard?tab=keys into E2B_API_KEY',
          'E2B_API_KEY',
        ),
        notChecked,
      ];
    }
    return [
      fail(
        keyName,
        `could not reach E2B at ${where} (${networkCode(error) ?? (error instanceof Error ? error.message : String(error))})`,
        'check the network and E2B_DOMAIN / E2B_API_URL (unset for E2B’s own cloud)',
      ),
      notChecked,
    ];
  }
  const key = ok(keyName, `accepted by ${where}`);
  try {
    if (await Template.exists(sandbox.template, opts)) {
      return [key, ok(templateName, `${sandbox.template} exists`)];
    }
    return [
      key,
      fail(
        templateName,
        `E2B has no template named ${sandbox.template}`,
        'set E2B_TEMPLATE to a template name your team can use (`e2b template list`), or unset it for base',
        'E2B_TEMPLATE',
      ),
    ];
  } catch (error) {
    return [
      key,
      warn(
        templateName,
        `could not look ${sandbox.template} up (${error instanceof Error ? error.message : String(error)})`,
        'check E2B_TEMPLATE in the E2B dashboard',
        'E2B_TEMPLATE',
      ),
    ];
  }
}

function connection(sandbox: E2BConfig): ConnectionOpts {
  const opts: ConnectionOpts = { apiKey: sandbox.apiKey, requestTimeoutMs: CHECK_TIMEOUT_MS };
  if (sandbox.domain) opts.domain = sandbox.domain;
  if (sandbox.apiUrl) opts.apiUrl = sandbox.apiUrl;
  if (sandbox.sandboxUrl) opts.sandboxUrl = sandbox.sandboxUrl;
  return opts;
}
