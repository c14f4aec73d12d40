import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2BSandboxProvider } from '../../src/sandbox/e2b-sandbox.js';
import { LocalSandboxProvider } from '../../src/sandbox/local-sandbox.js';
import { type FakeE2B, startFakeE2B } from '../fakes/e2b/index.js';
import { captureLogger } from '../helpers/logger.js';
import { sandboxContract } from './sandbox-contract.js';

let fake: FakeE2B;
let localRoot: string;

beforeAll(async () => {
  fake = await startFakeE2B();
  localRoot = await mkdtemp(join(tmpdir(), 'ai-dev-contract-'));
});

afterAll(async () => {
  await fake.close();
  await rm(localRoot, { recursive: true, force: true });
});

sandboxContract('local', () => new LocalSandboxProvider(localRoot));

sandboxContract(
  'e2b (loopback fake, real SDK)',
  () =>
    new E2BSandboxProvider({
      ...fake.connectionOpts,
      template: 'base',
      logger: captureLogger().logger,
      retry: { retries: 3, minDelayMs: 20 },
    }),
);

describe('the local provider', () => {
  it('cannot pause: a pause deletes the sandbox and answers that nothing was kept', async () => {
    const provider = new LocalSandboxProvider(localRoot);
    const sandbox = await provider.create({ timeoutMs: 60_000, metadata: {} });
    expect(await provider.release(sandbox.id, 'pause')).toBe(false);
    // Gone, so the reaper drops it from the registry instead of listing it as paused.
    expect(await provider.connect(sandbox.id)).toBeUndefined();
    expect(await provider.release(sandbox.id, 'kill')).toBe(false);
  });
});
