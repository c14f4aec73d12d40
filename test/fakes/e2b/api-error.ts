/**
 * A control-plane refusal: HTTP status + the `message` of E2B's `{code, message}` error body.
 *
 * The messages below are copied from E2B's API server (github.com/e2b-dev/infra, packages/api, read at
 * commit 54693ff, 2026-08-22). That snapshot predates `POST /v2/sandboxes`, which SDK 2.51 calls; the fake
 * assumes v2 validates like v1 (unverified).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `utils.SandboxNotFoundMsg` (Go `%q` → double quotes). */
export function notFoundMessage(sandboxId: string): string {
  return `Sandbox ${JSON.stringify(sandboxId)} doesn't exist or you don't have access to it`;
}

/** `orchestrator.CreateSandbox` when the team's running sandboxes are at `SandboxConcurrency` (HTTP 429). */
export function concurrencyMessage(limit: number): string {
  return (
    `you have reached the maximum number of concurrent E2B sandboxes (${limit}). If you need more, ` +
    "please visit 'https://e2b.dev/docs/billing'"
  );
}

/** `validateAndParseTimeout` / connect handler (HTTP 400); the real limit is whole hours (`%d`). */
export function maxTimeoutMessage(maxTimeoutMs: number): string {
  const hours = maxTimeoutMs / 3_600_000;
  return `Timeout cannot be greater than ${Number.isInteger(hours) ? hours : Number(hours.toFixed(3))} hours`;
}
