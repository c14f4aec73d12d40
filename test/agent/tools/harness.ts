import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ToolContext, ToolLimits } from '../../../src/agent/tools/kit/context.js';
import type { Tool, ToolResult } from '../../../src/agent/tools/kit/define-tool.js';
import type { PullRequestInfo } from '../../../src/github/pull-requests.js';
import { LocalSandboxProvider } from '../../../src/sandbox/local-sandbox.js';
import type { Sandbox } from '../../../src/sandbox/sandbox.js';
import type { Workspace } from '../../../src/sandbox/workspace.js';

export const BRANCH = 'ai-dev/test-branch';

export interface Harness {
  sandbox: Sandbox;
  workspace: Workspace;
  context: ToolContext;
  abort: AbortController;
  published: Array<{ title: string; body: string }>;
  /** Runs a shell command in the repo root and returns its stdout; fails the test on a non-zero exit. */
  sh(command: string): Promise<string>;
  /** Validates arguments the way the loop does, then runs the tool. */
  call(tool: Tool, args: Record<string, unknown>): Promise<ToolResult>;
  dispose(): Promise<void>;
}

/**
 * A real local sandbox holding a small git repo on the thread's branch, and the smallest
 * ToolContext over it: publish records what it was asked and answers like the publisher.
 */
export async function makeHarness(limits: Partial<ToolLimits> = {}): Promise<Harness> {
  const tempRoot = await mkdtemp(join(tmpdir(), 'ai-dev-tools-'));
  const sandbox = await new LocalSandboxProvider(tempRoot).create({ metadata: {}, timeoutMs: 60_000 });
  const root = join(sandbox.home, 'repo');
  const workspace: Workspace = { repo: 'acme/widgets', sandbox, root, branch: BRANCH, baseBranch: 'main' };
  const abort = new AbortController();
  const published: Array<{ title: string; body: string }> = [];
  const context: ToolContext = {
    workspace: async () => workspace,
    publish: async (_workspace, request): Promise<PullRequestInfo> => {
      published.push(request);
      return {
        url: 'https://github.com/acme/widgets/pull/7',
        number: 7,
        created: published.length === 1,
        branch: BRANCH,
      };
    },
    limits: { commandTimeoutSeconds: 30, outputMaxChars: 20_000, ...limits },
    signal: abort.signal,
  };
  const sh = async (command: string, cwd = root): Promise<string> => {
    const result = await sandbox.exec(command, { cwd, timeoutMs: 20_000 });
    if (result.exitCode !== 0) throw new Error(`${command} failed (${result.exitCode}): ${result.stderr}`);
    return result.stdout;
  };
  await sh(
    [
      `git init -q -b ${BRANCH} repo`,
      'cd repo',
      'mkdir -p src/lib docs',
      `printf 'export const answer = 42;\\n' > src/index.ts`,
      `printf 'export function add(a, b) {\\n  return a + b;\\n}\\n' > src/lib/math.ts`,
      `printf '# Widgets\\n' > README.md`,
      'git add -A',
      'git -c user.name=Someone -c user.email=someone@example.com commit -qm "Initial commit"',
    ].join(' && '),
    sandbox.home,
  );
  return {
    sandbox,
    workspace,
    context,
    abort,
    published,
    sh: (command) => sh(command),
    call: async (tool, args) => {
      const parsed = tool.parse(args);
      if (!parsed.ok) throw new Error(`invalid arguments for ${tool.name}: ${parsed.error}`);
      return tool.run(parsed.value, context);
    },
    dispose: async () => {
      await sandbox.kill();
      await rm(tempRoot, { recursive: true, force: true });
    },
  };
}
