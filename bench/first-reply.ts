/** Figure 1: time from a mention to the bot's first reply in the thread (spec §6: before sandbox or model). */
import { delay, text } from '../test/fakes/openai-server.js';
import type { Harness } from '../test/helpers/harness.js';
import { firstThreadPost, ms, print, type Summary, summarize, table, waitForTerminal } from './lib.js';

export interface FirstReplyResult {
  /** Both twin events (app_mention + message) answered 200 by the bot. */
  ack: Summary;
  reply: Summary;
  /** Mention → the first model request arriving at the fake. */
  modelRequest: Summary;
  /** Replies that went out before the model's answer (request + MODEL_MS). */
  beforeAnswer: number;
  warmup: number;
}

const MODEL_MS = 200;

export async function benchFirstReply(h: Harness, count = 20, warmup = 2): Promise<FirstReplyResult> {
  const acks: number[] = [];
  const replies: number[] = [];
  const requests: number[] = [];
  let beforeAnswer = 0;
  for (let i = 0; i < warmup + count; i++) {
    let requestAt = 0;
    h.openai.script([
      () => {
        requestAt = Date.now();
        return delay(MODEL_MS, text('ok'));
      },
    ]);
    const sent = Date.now();
    const root = await h.mention(`what does greet.js do? (question ${i + 1})`);
    const acked = Date.now();
    const first = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === root, 10_000);
    await waitForTerminal(h, root);
    if (i < warmup) continue;
    const reply = firstThreadPost(h, root) ?? first;
    acks.push(acked - sent);
    replies.push(reply.at - sent);
    requests.push(requestAt - sent);
    if (requestAt > 0 && reply.at < requestAt + MODEL_MS) beforeAnswer += 1;
  }
  return { ack: summarize(acks), reply: summarize(replies), modelRequest: summarize(requests), beforeAnswer, warmup };
}

export function printFirstReply(r: FirstReplyResult): void {
  print(
    table([
      ['measure (ms after the mention event is sent)', 'n', 'p50', 'p95', 'max'],
      ['both mention events acked (HTTP 200)', ...cells(r.ack)],
      ['first thread reply (chat.postMessage at the fake)', ...cells(r.reply)],
      ['first model request reaches the fake', ...cells(r.modelRequest)],
    ]),
  );
  print(
    `first reply went out before the model answered (model takes ${MODEL_MS} ms): ${r.beforeAnswer}/${r.reply.n}; ` +
      `${r.warmup} warm-up mentions not counted`,
  );
}

function cells(s: Summary): string[] {
  return [String(s.n), ms(s.p50), ms(s.p95), ms(s.max)];
}
