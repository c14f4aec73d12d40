import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allTools, toolsByName } from '../../../src/agent/tools/index.js';
import type { ToolContext } from '../../../src/agent/tools/kit/context.js';
import { defineTool } from '../../../src/agent/tools/kit/define-tool.js';
import { ToolError } from '../../../src/agent/tools/kit/tool-error.js';
import { AbortedError, AppError } from '../../../src/lib/errors.js';
import { SandboxError, SandboxGoneError } from '../../../src/sandbox/sandbox.js';

const SPEC_TOOLS = [
  'list_files',
  'read_file',
  'save_content_to_file',
  'create_directory',
  'edit_file',
  'search_code',
  'run_command',
  'commit',
  'make_pull_request',
];

/** Tools added after the spec, appended after its nine (issue 12: update_plan feeds the status card). */
const ADDED_TOOLS = ['update_plan'];

describe('allTools', () => {
  it('are the nine tools of the spec, in its order, then the tools added since', () => {
    expect(allTools.map((tool) => tool.name)).toEqual([...SPEC_TOOLS, ...ADDED_TOOLS]);
    expect([...toolsByName.keys()]).toEqual([...SPEC_TOOLS, ...ADDED_TOOLS]);
    expect(toolsByName.get('edit_file')).toBe(allTools[4]);
  });

  it('have strict JSON schemas: every property required, nothing extra', () => {
    for (const tool of allTools) {
      const schema = tool.jsonSchema as {
        properties: Record<string, unknown>;
        required: string[];
        additionalProperties: unknown;
      };
      expect(schema.additionalProperties, tool.name).toBe(false);
      expect(schema.required, tool.name).toEqual(Object.keys(schema.properties));
      expect(tool.description.length, tool.name).toBeGreaterThan(40);
    }
  });

  it('take an optional repo when they act on one (every tool of the spec; update_plan touches no repo)', () => {
    for (const tool of allTools.filter((t) => SPEC_TOOLS.includes(t.name))) {
      expect(tool.jsonSchema.properties, tool.name).toHaveProperty('repo');
    }
  });

  it('take the arguments the spec names; optional ones may be absent or null', () => {
    const argumentsOf = (name: string) =>
      Object.keys((toolsByName.get(name)?.jsonSchema.properties as object | undefined) ?? {}).filter(
        (k) => k !== 'repo',
      );
    expect(argumentsOf('read_file')).toEqual(['path', 'start_line', 'end_line']);
    expect(argumentsOf('edit_file')).toEqual(['path', 'old_text', 'new_text']);
    expect(argumentsOf('run_command')).toEqual(['command', 'timeout_seconds']);
    expect(argumentsOf('make_pull_request')).toEqual(['title', 'body']);
    const search = toolsByName.get('search_code');
    expect(search?.parse({ pattern: 'x' }).ok).toBe(true);
    expect(search?.parse({ pattern: 'x', path: null, repo: null }).ok).toBe(true);
    expect(search?.parse({ pattern: 'x', extra: 1 }).ok).toBe(false);
  });

  it('summarize in one short line, naming the repo when one was picked', () => {
    expect(toolsByName.get('run_command')?.summarize({ command: 'npm test\nnpm run lint' })).toBe('$ npm test…');
    expect(toolsByName.get('read_file')?.summarize({ path: 'a.ts', start_line: 10, repo: 'acme/api' })).toBe(
      'Reading a.ts (from line 10) (acme/api)',
    );
  });
});

describe('the failure rule of defineTool', () => {
  const context = (signal = new AbortController().signal) => ({ signal }) as unknown as ToolContext;
  const failing = (error: unknown) =>
    defineTool({
      name: 'failing',
      description: 'fails',
      parameters: z.object({}),
      summarize: () => 'failing',
      run: async () => {
        throw error;
      },
    }).run;

  it('marks a result ok by default and keeps an ok the tool set', async () => {
    const tool = (ok?: boolean) =>
      defineTool({
        name: 't',
        description: 'd',
        parameters: z.object({}),
        summarize: () => 't',
        run: async () => ({ output: 'done', ...(ok === undefined ? {} : { ok }) }),
      });
    expect(await tool().run({}, context())).toEqual({ ok: true, output: 'done' });
    expect(await tool(false).run({}, context())).toEqual({ ok: false, output: 'done' });
  });

  it('returns what the model can act on as an Error: output with a failed action', async () => {
    for (const error of [
      new ToolError('old_text matches 2 times'),
      new AppError('github_forbidden', 'old_text matches 2 times'),
      new SandboxError('exec_failed', 'old_text matches 2 times'),
      new Error('old_text matches 2 times'),
    ]) {
      expect(await failing(error)(undefined, context())).toEqual({
        ok: false,
        output: 'Error: old_text matches 2 times',
        action: { kind: 'failed', error: 'old_text matches 2 times' },
      });
    }
  });

  it('throws stops, transient infrastructure errors and run-ending errors on', async () => {
    const ending = new AppError('branch_moved', 'someone pushed', { endsRun: true });
    await expect(failing(ending)(undefined, context())).rejects.toBe(ending);
    await expect(failing(new AbortedError())(undefined, context())).rejects.toBeInstanceOf(AbortedError);
    await expect(failing(new SandboxGoneError('s1'))(undefined, context())).rejects.toBeInstanceOf(SandboxGoneError);
    const abort = new DOMException('aborted', 'AbortError');
    await expect(failing(abort)(undefined, context())).rejects.toBe(abort);
    const stopped = new AbortController();
    stopped.abort();
    const anything = new Error('after stop');
    await expect(failing(anything)(undefined, context(stopped.signal))).rejects.toBe(anything);
  });
});
