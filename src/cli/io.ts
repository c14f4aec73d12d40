import type { EngineOverrides } from '../wiring.js';

/** What a CLI command reads and writes: given by the bin (the process) or by a test (in-process). */
export interface CliIO {
  /** The environment, as config/environment.ts reads it (`.env` and the process's variables) for the bin. */
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Tests only: where sandboxes go, GitHub pacing, a log stream. */
  overrides?: EngineOverrides;
}
