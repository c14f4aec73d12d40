/**
 * Figure 6: mention → first tool result for a cold start (a new thread: a new sandbox receives the repo and
 * runs its `.ai-dev/setup.sh`) and a warm one (a follow-up in the same thread: its sandbox, paused while idle,
 * is resumed as it was, set-up included). The set-up script sleeps to stand for an install.
 */
import { text, toolCalls } from '../test/fakes/openai-server.js';
import type { Harness } from '../test/helpers/harness.js';
import { ms, print, type Summary, summarize, table } from './lib.js';

const SETUP_SECONDS = 1;
const CHANNEL = 'C0WARMUP';

export interface WarmStartResult {
  cold: Summary;
  warm: Summary;
  setupSeconds: number;
}

/** Mention (or reply) → the model request that carries the first tool's output, read once the run ended. */
async function firstResult(h: Harness, send: () => Promise<string>): Promise<{ ms: () => number; root: string }> {
  let resultAt = 0;
  h.openai.script([
    toolCalls([{ name: 'list_files', arguments: { path: '.' } }]),
    () => {
      resultAt = Date.now();
      return text('Listed.');
    },
  ]);
  const sent = Date.now();
  const root = await send();
  return { ms: () => (resultAt > 0 ? resultAt - sent : Number.NaN), root };
}

export async function benchWarmStart(h: Harness, reps = 3): Promise<WarmStartResult> {
  await h.github.addRepo({
    owner: 'acme',
    name: 'warmup',
    files: { 'README.md': '# warmup\n', '.ai-dev/setup.sh': `sleep ${SETUP_SECONDS}\necho installed\n` },
  });
  await h.command('link acme/warmup', { expectResponse: true, channel: CHANNEL });
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < reps; i++) {
    const first = await firstResult(h, () => h.mention(`list the files (cold ${i + 1})`, { channel: CHANNEL }));
    await h.waitForEnd(first.root, 1, CHANNEL, 60_000);
    cold.push(first.ms());
    const follow = await firstResult(h, async () => {
      await h.reply(first.root, `list them again (warm ${i + 1})`, { channel: CHANNEL });
      return first.root;
    });
    await h.waitForEnd(first.root, 2, CHANNEL, 60_000);
    warm.push(follow.ms());
  }
  return { cold: summarize(cold), warm: summarize(warm), setupSeconds: SETUP_SECONDS };
}

export function printWarmStart(result: WarmStartResult): void {
  print(
    table([
      ['start', 'median', 'p95', 'n'],
      ['cold (new sandbox + set-up)', ms(result.cold.p50), ms(result.cold.p95), String(result.cold.n)],
      ['warm (same thread, sandbox reused)', ms(result.warm.p50), ms(result.warm.p95), String(result.warm.n)],
    ]),
  );
  print(`the set-up script sleeps ${result.setupSeconds} s; a warm start runs no set-up`);
}
