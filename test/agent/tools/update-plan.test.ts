import { describe, expect, it } from 'vitest';
import type { ToolContext } from '../../../src/agent/tools/kit/context.js';
import { PLAN_MAX_ITEMS, PLAN_TITLE_MAX, updatePlan } from '../../../src/agent/tools/update-plan.js';

const context = { signal: new AbortController().signal } as unknown as ToolContext;

/** Validates the arguments the way the loop does, then runs the tool. */
async function call(args: unknown) {
  const parsed = updatePlan.parse(args);
  if (!parsed.ok) return { ok: false, output: parsed.error };
  return updatePlan.run(parsed.value, context);
}

describe('update_plan', () => {
  it('returns the checklist as a plan action and a short output for the model', async () => {
    const result = await call({
      items: [
        { title: 'Read the date helpers', status: 'complete' },
        { title: 'Fix  the\nleap-year check', status: 'in_progress' },
        { title: 'Run the tests', status: 'pending' },
      ],
    });
    expect(result).toEqual({
      ok: true,
      output: 'Plan updated: 1 of 3 complete. In progress: Fix the leap-year check.',
      action: {
        kind: 'plan',
        items: [
          { title: 'Read the date helpers', status: 'complete' },
          { title: 'Fix the leap-year check', status: 'in_progress' },
          { title: 'Run the tests', status: 'pending' },
        ],
      },
    });
  });

  it("has a strict schema with Slack's four task statuses", () => {
    const schema = updatePlan.jsonSchema as {
      properties: { items: { items: { properties: { status: { enum: string[] } }; additionalProperties: unknown } } };
      required: string[];
    };
    expect(schema.required).toEqual(['items']);
    expect(schema.properties.items.items.properties.status.enum).toEqual([
      'pending',
      'in_progress',
      'complete',
      'error',
    ]);
    expect(schema.properties.items.items.additionalProperties).toBe(false);
    expect(updatePlan.parse({ items: [{ title: 'x', status: 'completed' }] }).ok).toBe(false);
    expect(updatePlan.summarize({ items: [{ title: 'a', status: 'complete' }] })).toBe(
      'Updating the plan (1 of 1 done)',
    );
  });

  it('cuts long titles and refuses an empty or overlong list in words the model can act on', async () => {
    const long = await call({ items: [{ title: 'x'.repeat(500), status: 'pending' }] });
    expect(long.action?.kind === 'plan' && long.action.items[0]?.title.length).toBe(PLAN_TITLE_MAX);
    const empty = await call({ items: [{ title: '   ', status: 'pending' }] });
    expect(empty).toMatchObject({ ok: false, output: 'Error: The plan needs at least one item with a title.' });
    const many = Array.from({ length: PLAN_MAX_ITEMS + 1 }, (_, i) => ({ title: `step ${i}`, status: 'pending' }));
    const tooMany = await call({ items: many });
    expect(tooMany.ok).toBe(false);
    expect(tooMany.output).toMatch(/keep it to 40 at most/);
  });
});
