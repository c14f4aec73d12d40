import { z } from 'zod';
import type { PlanItem } from '../events.js';
import { defineTool } from './kit/define-tool.js';
import { ToolError } from './kit/tool-error.js';

/** Slack's plan block holds at most 50 task cards; a few are ours (sandbox, tests, pull request). */
export const PLAN_MAX_ITEMS = 40;
/** Longer titles are cut: a checklist item is one short line. */
export const PLAN_TITLE_MAX = 150;

const STATUSES = ['pending', 'in_progress', 'complete', 'error'] as const;

function cut(title: string): string {
  const flat = title.replace(/\s+/g, ' ').trim();
  return flat.length <= PLAN_TITLE_MAX ? flat : `${flat.slice(0, PLAN_TITLE_MAX - 1)}…`;
}

/**
 * The model's checklist for the run, shown to the people in the thread on the run's status card. The model sends the
 * whole list each time; it never touches the repo.
 */
export const updatePlan = defineTool({
  name: 'update_plan',
  description:
    'Share your plan for this task as a short checklist that the people in the Slack thread see, and keep it ' +
    'current: call it once you know the steps, and again whenever a step starts, finishes or fails, or the plan ' +
    'changes. Send the whole list every time, in order. Statuses: pending, in_progress (one step at a time), ' +
    'complete, error. Keep each title to a few words, and the list under 10 items when you can.',
  parameters: z.object({
    items: z
      .array(
        // Strict mode wants `additionalProperties: false` on every object; defineTool sets it on the outer one only.
        z
          .object({
            title: z.string().describe('What the step does, in a few words'),
            status: z.enum(STATUSES).describe('pending, in_progress, complete or error'),
          })
          .strict(),
      )
      .describe('The whole checklist, in order'),
  }),
  summarize: (args) => {
    const done = args.items.filter((item) => item.status === 'complete').length;
    return `Updating the plan (${done} of ${args.items.length} done)`;
  },
  run: async (args) => {
    const items: PlanItem[] = args.items
      .map((item) => ({ title: cut(item.title), status: item.status }))
      .filter((item) => item.title !== '');
    if (items.length === 0) throw new ToolError('The plan needs at least one item with a title.');
    if (items.length > PLAN_MAX_ITEMS) {
      throw new ToolError(
        `The plan has ${items.length} items; keep it to ${PLAN_MAX_ITEMS} at most (merge small steps).`,
      );
    }
    const done = items.filter((item) => item.status === 'complete').length;
    const current = items.filter((item) => item.status === 'in_progress').map((item) => item.title);
    const now = current.length > 0 ? ` In progress: ${current.join('; ')}.` : '';
    return {
      output: `Plan updated: ${done} of ${items.length} complete.${now}`,
      action: { kind: 'plan', items },
    };
  },
});
