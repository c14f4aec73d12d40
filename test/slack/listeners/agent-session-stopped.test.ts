import { LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentSessions } from '../../../src/slack/agent-session.js';
import { registerAgentSessionStopped } from '../../../src/slack/listeners/agent-session-stopped.js';
import { type FakeSlack, startFakeSlack } from '../../fakes/slack-server.js';
import { type TestBoltApp, testBoltApp } from '../../helpers/bolt-app.js';

const CHANNEL = 'C0STOP';

let fake: FakeSlack;
let bolt: TestBoltApp;

beforeEach(async () => {
  fake = await startFakeSlack();
  bolt = testBoltApp(fake);
});

afterEach(async () => {
  await bolt.stop();
  await fake.close();
});

/** A stop callback that records its calls and lets the test wait for them. */
function stopper(answer: boolean) {
  const calls: Array<[string, string, string]> = [];
  let notify: () => void = () => {};
  const called = new Promise<void>((resolve) => {
    notify = resolve;
  });
  return {
    calls,
    called,
    stop: async (channel: string, threadTs: string, user: string) => {
      calls.push([channel, threadTs, user]);
      notify();
      return answer;
    },
  };
}

describe('agent_session_stopped', () => {
  it("stops the thread's run with the person who pressed Stop", async () => {
    const stop = stopper(true);
    registerAgentSessionStopped(bolt.app, { stop: stop.stop });
    await bolt.start();
    const client = new WebClient(fake.ids.botToken, { slackApiUrl: fake.apiUrl, logLevel: LogLevel.ERROR });
    await client.agents.sessions.setStatus({
      channel_id: CHANNEL,
      thread_ts: '1.000001',
      status: 'processing',
      title: 'T',
    });
    const delivery = await fake.stopAgentSession(CHANNEL, '1.000001', { user: 'U0BOB' });
    expect(delivery.status).toBe(200);
    await stop.called;
    expect(stop.calls).toEqual([[CHANNEL, '1.000001', 'U0BOB']]);
    // The run's end moves the session out of processing, not the listener.
    expect(fake.sessionStatuses(CHANNEL, '1.000001')).toEqual(['processing']);
  });

  it('moves the session out of processing itself when nothing was running', async () => {
    const stop = stopper(false);
    const sessions = new AgentSessions({ client: bolt.app.client, logger: bolt.log.logger });
    registerAgentSessionStopped(bolt.app, { stop: stop.stop, sessions, logger: bolt.log.logger });
    await bolt.start();
    await sessions.forThread(CHANNEL, '2.000001').setStatus('processing', 'Left over after a restart');
    await fake.stopAgentSession(CHANNEL, '2.000001', { user: 'U0BOB' });
    await fake.waitFor(
      (call) => call.method === 'agents.sessions.setStatus' && call.args.status === 'active' && call.status === 200,
    );
    expect(fake.sessionStatuses(CHANNEL, '2.000001')).toEqual(['processing', 'active']);
  });
});
