import type { EngineOverrides } from '../wiring.js';

/** What a CLI command reads and writes: given by the bin (the process) or by a test (in-process). */
export interface CliIO {
  /** The environment (the bin reads `.env` and process.env through config/environment.ts). */
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Tests only: where sandboxes go, GitHub pacing, a log stream. */
  overrides?: EngineOverrides;
}
