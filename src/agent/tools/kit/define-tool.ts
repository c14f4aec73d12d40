import { z } from 'zod';
import { endsRun, errorMessage, isAbort, isTransient } from '../../../lib/errors.js';
import type { ActionReport } from '../../events.js';
import type { ToolContext } from './context.js';

/** What one tool call came to. */
export interface ToolResult {
  /** Whether the call did what was asked (false: an error, or a command that exited non-zero). */
  ok: boolean;
  /** What the model reads; never empty. */
  output: string;
  /** What a person sees in the thread; absent for actions not worth a reply. */
  action?: ActionReport;
}

/** What a tool's own code returns; `ok` defaults to true. */
export type ToolOutcome = Omit<ToolResult, 'ok'> & { ok?: boolean };

export interface ToolDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  description: string;
  parameters: z.ZodObject<Shape>;
  /** One line for "started" progress, from validated arguments. */
  summarize(args: z.infer<z.ZodObject<Shape>>): string;
  run(args: z.infer<z.ZodObject<Shape>>, context: ToolContext): Promise<ToolOutcome>;
}

export interface Tool {
  name: string;
  description: string;
  /** JSON Schema for the Responses API in strict mode. */
  jsonSchema: Record<string, unknown>;
  parse(args: unknown): { ok: true; value: unknown } | { ok: false; error: string };
  summarize(args: unknown): string;
  /**
   * Runs the call. A failure the model can act on comes back as a result with `ok: false`; only a
   * stop, a transient infrastructure failure (the loop decides) and a failure that ends the run throw.
   */
  run(args: unknown, context: ToolContext): Promise<ToolResult>;
}

/** Every tool takes an optional `repo` so a channel with several repos can say which one. */
export const repoArgument = z
  .string()
  .nullish()
  .describe('owner/name of the linked repo to act on; omit when the channel links one repo');

/**
 * The one way to make a tool: a zod object of arguments (optional ones `.nullish()`), turned into a
 * strict JSON Schema for the model and used again to validate what the model sends; and the one
 * failure rule of the tools (see `Tool.run`).
 */
export function defineTool<Shape extends z.ZodRawShape>(definition: ToolDefinition<Shape>): Tool {
  const parameters = definition.parameters.strict();
  return {
    name: definition.name,
    description: definition.description,
    jsonSchema: strictSchema(z.toJSONSchema(parameters, { io: 'input' }) as Record<string, unknown>),
    parse: (args) => {
      const result = parameters.safeParse(args);
      if (result.success) return { ok: true, value: result.data };
      return {
        ok: false,
        error: result.error.issues
          .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'arguments'}: ${issue.message}`)
          .join('; '),
      };
    },
    summarize: (args) => definition.summarize(args as z.infer<z.ZodObject<Shape>>),
    run: async (args, context) => {
      try {
        const outcome = await definition.run(args as z.infer<z.ZodObject<Shape>>, context);
        return { ...outcome, ok: outcome.ok ?? true };
      } catch (error) {
        if (isAbort(error, context.signal) || isTransient(error) || endsRun(error)) throw error;
        const message = errorMessage(error);
        return { ok: false, output: `Error: ${message}`, action: { kind: 'failed', error: message } };
      }
    },
  };
}

/** Strict mode wants every property listed as required (optional ones are nullable instead). */
function strictSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _, ...rest } = schema;
  const properties = (rest.properties ?? {}) as Record<string, unknown>;
  return { ...rest, properties, required: Object.keys(properties), additionalProperties: false };
}
