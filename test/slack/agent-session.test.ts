import { LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/lib/redact.js';
import { AgentSessions, SESSION_TITLE_MAX, sessionTitle } from '../../src/slack/agent-session.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack-server.js';
import { captureLogger } from '../helpers/logger.js';

const CHANNEL = 'C0SESSION';

let fake: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  fake = await startFakeSlack();
  client = new WebClient(fake.ids.botToken, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
  });
});

afterEach(async () => {
  await fake.close();
});

function sessions(redactSecrets: string[] = []) {
  const log = captureLogger();
  return { sessions: new AgentSessions({ client, logger: log.logger, redact: createRedactor(redactSecrets) }), log };
}

describe('sessionTitle', () => {
  it('makes one line of at most 200 characters', () => {
    expect(sessionTitle('  Fix the\n\nflaky   test ')).toBe('Fix the flaky test');
    const long = sessionTitle('word '.repeat(100)) ?? '';
    expect(long.length).toBeLessThanOrEqual(SESSION_TITLE_MAX);
    expect(long.endsWith('…')).toBe(true);
    expect(sessionTitle(' \n ')).toBeUndefined();
  });
});

describe('AgentSession', () => {
  it('creates the session with a title and initiator once, then only changes its status', async () => {
    const { sessions: all } = sessions();
    const session = all.forThread(CHANNEL, '1.000001', { initiatorUserId: 'U0ALICE' });
    expect(await session.setStatus('processing', `Fix the flaky date test ${'x'.repeat(300)}`)).toBe(true);
    expect(await session.setStatus('suspended', 'another title')).toBe(true);
    expect(await all.forThread(CHANNEL, '1.000001').setStatus('active')).toBe(true);
    const recorded = fake.agentSession(CHANNEL, '1.000001');
    expect(recorded?.title?.startsWith('Fix the flaky date test')).toBe(true);
    expect(recorded?.title?.length).toBeLessThanOrEqual(SESSION_TITLE_MAX);
    expect(recorded?.initiatorUserId).toBe('U0ALICE');
    expect(recorded?.ignored).toEqual([]); // no title or initiator after creation
    expect(fake.sessionStatuses(CHANNEL, '1.000001')).toEqual(['processing', 'suspended', 'active']);
    const calls = fake.callsOf('agents.sessions.setStatus').map((c) => Object.keys(c.args).sort());
    expect(calls[1]).toEqual(['channel_id', 'status', 'thread_ts']);
  });

  it('sends calls of one session in the order they were made, without the caller waiting', async () => {
    const { sessions: all } = sessions();
    const session = all.forThread(CHANNEL, '2.000001');
    const results = [
      session.setStatus('processing', 'Task'),
      session.setStatus('suspended'),
      session.setStatus('active'),
    ];
    expect(await Promise.all(results)).toEqual([true, true, true]);
    expect(fake.sessionStatuses(CHANNEL, '2.000001')).toEqual(['processing', 'suspended', 'active']);
  });

  it('renames, and redacts titles', async () => {
    const { sessions: all } = sessions(['sk-secret-token-value']);
    const session = all.forThread(CHANNEL, '3.000001');
    await session.setStatus('processing', 'use sk-secret-token-value to deploy');
    expect(await session.rename('Deploy the docs')).toBe(true);
    const recorded = fake.agentSession(CHANNEL, '3.000001');
    expect(recorded?.titles.map((t) => [t.via, t.title])).toEqual([
      ['create', 'use [redacted] to deploy'],
      ['rename', 'Deploy the docs'],
    ]);
  });

  it('logs errors and answers false instead of throwing (a session is decoration)', async () => {
    const { sessions: all, log } = sessions();
    const session = all.forThread(CHANNEL, '4.000001');
    expect(await session.rename('Before it exists')).toBe(false);
    fake.failNext('agents.sessions.setStatus', 'internal_error');
    expect(await session.setStatus('processing', 'Task')).toBe(false);
    // Not created yet, so the next call still carries the title.
    expect(await session.setStatus('processing', 'Task')).toBe(true);
    expect(fake.agentSession(CHANNEL, '4.000001')?.title).toBe('Task');
    const warnings = log.lines().filter((l) => l.level === 40);
    expect(warnings.map((l) => l.error)).toEqual(['session_not_found', 'internal_error']);
  });

  it('logs the missing agent_session_stopped subscription once per process', async () => {
    fake.setAgentSessionStoppedSubscription(false);
    const { sessions: all, log } = sessions();
    await all.forThread(CHANNEL, '5.000001').setStatus('processing', 'One');
    await all.forThread(CHANNEL, '5.000001').setStatus('active');
    await all.forThread(CHANNEL, '6.000001').setStatus('processing', 'Two');
    const lines = log.lines().filter((l) => l.warning === 'missing_agent_session_stopped_event_subscription');
    expect(lines).toHaveLength(1);
    expect(String(lines[0]?.msg)).toMatch(/agent_session_stopped/);
    expect(fake.sessionStatuses(CHANNEL, '6.000001')).toEqual(['processing']);
  });
});
