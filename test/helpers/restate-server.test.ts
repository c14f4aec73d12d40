/**
 * Proves the Restate test harness and pins down the Restate behaviour the run coordination will rely on: a real
 * restate-server 1.7 (startRestateServer), two fixture service processes (restate-fixture/service.ts, SDK 1.17)
 * behind the TCP balancer, registered as one deployment. One server for the whole file; tests run in order and
 * the server crash/restart test comes last.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './free-port.js';
import {
  type FixtureEvent,
  type FixtureService,
  readFixtureLog,
  startFixtureService,
  waitForEvent,
} from './restate-fixture/index.js';
import {
  adminQuery,
  cancelInvocation,
  lockingInvocation,
  type RestateServer,
  registerDeployment,
  startRestateServer,
} from './restate-server.js';
import { startTcpBalancer, type TcpBalancer } from './tcp-balancer.js';

describe('startTcpBalancer', () => {
  it('spreads connections round-robin and skips a target that refuses', async () => {
    const echo = (tag: string) =>
      createServer((socket) => socket.on('data', (data) => socket.end(`${tag}:${data.toString()}`)));
    const servers: Server[] = [echo('a'), echo('b')];
    const ports: number[] = [];
    for (const server of servers) {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const address = server.address();
      if (!address || typeof address === 'string') throw new Error('no port');
      ports.push(address.port);
    }
    const dead = await freePort();
    const balancer = await startTcpBalancer([ports[0] ?? 0, dead, ports[1] ?? 0]);
    const ask = async () => {
      const socket = createConnection({ host: '127.0.0.1', port: balancer.port });
      socket.end('hi');
      let answer = '';
      try {
        for await (const chunk of socket) answer += String(chunk);
      } catch (error) {
        return `error:${(error as NodeJS.ErrnoException).code}`;
      }
      return answer;
    };
    try {
      // a, dead→b, b, a: the dead target is skipped without the client noticing
      expect([await ask(), await ask(), await ask(), await ask()]).toEqual(['a:hi', 'b:hi', 'b:hi', 'a:hi']);
      balancer.setTargets([dead]);
      expect(['', 'error:ECONNRESET']).toContain(await ask()); // nothing alive: the client connection is dropped
    } finally {
      await balancer.close();
      for (const server of servers) server.close();
    }
  });
});

describe('restate-server harness (server 1.7, SDK 1.17)', () => {
  let server: RestateServer;
  let dir: string;
  let logFile: string;
  let balancer: TcpBalancer;
  const fixtures: FixtureService[] = [];
  const figures: Record<string, string> = {};

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.ingressUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const send = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await post(`${path}/send`, body, headers);
    expect(response.status).toBe(202);
    return (await response.json()) as { invocationId: string; status: string };
  };
  /** Waits for an invocation's result through the ingress: `GET /restate/invocation/{id}/attach`. */
  const attach = async (invocationId: string) => {
    const response = await fetch(`${server.ingressUrl}/restate/invocation/${invocationId}/attach`);
    return { status: response.status, body: await response.text() };
  };
  const eventsOf = async (key: string) => (await readFixtureLog(logFile)).filter((event) => event.key === key);
  const count = (events: FixtureEvent[], event: string, step?: number) =>
    events.filter((e) => e.event === event && (step === undefined || e.step === step)).length;
  const rssMb = async (pid: number | undefined) => {
    if (pid === undefined) return 'n/a';
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return kb ? `${Math.round(Number(kb) / 1024)} MB` : 'n/a';
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restate-harness-'));
    logFile = join(dir, 'fixture.jsonl');
    let started = Date.now();
    server = await startRestateServer();
    figures['server start → healthy'] = `${Date.now() - started} ms`;
    figures['server RSS idle'] = await rssMb(server.pid());
    started = Date.now();
    const starting = await Promise.allSettled(['A', 'B'].map((name) => startFixtureService({ logFile, name })));
    for (const outcome of starting) if (outcome.status === 'fulfilled') fixtures.push(outcome.value); // for afterAll
    for (const outcome of starting) if (outcome.status === 'rejected') throw outcome.reason;
    figures['2 fixture processes start (in parallel)'] = `${Date.now() - started} ms`;
    balancer = await startTcpBalancer(fixtures.map((fixture) => fixture.port));
    started = Date.now();
    const deployment = await registerDeployment(server.adminUrl, balancer.url);
    figures['register deployment'] = `${Date.now() - started} ms`;
    expect(deployment.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    // Every step runs even when one fails, so no process or directory outlives the file.
    const steps: Array<() => Promise<unknown>> = [
      async () => balancer?.close(),
      ...fixtures.map((fixture) => () => fixture.kill9()),
      async () => {
        if (server) figures['server RSS at the end'] = await rssMb(server.pid());
        const started = Date.now();
        await server?.stop();
        figures['server stop (SIGTERM)'] = `${Date.now() - started} ms`;
      },
      async () => dir && rm(dir, { recursive: true, force: true }),
    ];
    for (const step of steps) await step().catch((error) => console.error('cleanup failed:', error));
    console.info(
      `restate harness figures:\n${Object.entries(figures)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}`,
    );
  }, 60_000);

  it('runs on 127.0.0.1 ports only and reports its version', async () => {
    expect(server.ingressUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const version = (await (await fetch(`${server.adminUrl}/version`)).json()) as {
      version: string;
      max_admin_api_version: number;
    };
    expect(version.version).toMatch(/^1\.7\./);
    expect(version.max_admin_api_version).toBeGreaterThanOrEqual(3);
    expect((await fetch(`${server.adminUrl}/health`)).status).toBe(200);
  });

  it('answers a second registration of the same URI with 200 and no change, unless forced', async () => {
    const again = await registerDeployment(server.adminUrl, `${balancer.url}/`);
    expect(again.status).toBe(200);
    const names = (services: Array<{ name: string }>) => services.map((service) => service.name).sort();
    expect(names(again.services)).toEqual(['ExplicitThread', 'Inbox', 'Patient', 'Recorder', 'Thread']);

    // New code behind the same URL (a service added): a plain re-registration does not even look at it.
    const variant = await startFixtureService({ logFile, name: 'V2', env: { FIXTURE_VARIANT: '2' } });
    try {
      balancer.setTargets([variant.port]);
      balancer.dropConnections();
      const unchanged = await registerDeployment(server.adminUrl, balancer.url);
      expect(unchanged.status).toBe(200);
      expect(names(unchanged.services)).not.toContain('Extra');
      expect((await post('/Extra/ping', null)).status).toBe(404);

      const forced = await registerDeployment(server.adminUrl, balancer.url, { force: true });
      expect(forced.status).toBe(200);
      expect(forced.id).toBe(again.id);
      expect(names(forced.services)).toContain('Extra');
      expect(await (await post('/Extra/ping', null)).json()).toBe('pong');
    } finally {
      balancer.setTargets(fixtures.map((fixture) => fixture.port));
      balancer.dropConnections();
      await variant.kill9();
    }
    const restored = await registerDeployment(server.adminUrl, balancer.url, { force: true });
    expect(names(restored.services)).not.toContain('Extra');
  });

  it('measures one ingress call (a handler with one ctx.run step)', async () => {
    const latencies: number[] = [];
    for (let index = 0; index < 6; index++) {
      const started = performance.now();
      const response = await post(`/Thread/latency-${index}/run`, { steps: 1, stepMs: 0 });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      latencies.push(performance.now() - started);
    }
    figures['first call (new h2 connection)'] = `${Math.round(latencies[0] ?? 0)} ms`;
    const warm = latencies.slice(1).sort((a, b) => a - b);
    figures['warm call, median of 5'] = `${Math.round(warm[2] ?? 0)} ms`;
  });

  it('queues calls to an exclusive handler per key in arrival order; other keys run alongside', async () => {
    const ids: string[] = [];
    for (const tag of ['a', 'b', 'c']) ids.push((await send('/Thread/queue/append', { tag, ms: 300 })).invocationId);
    ids.push((await send('/Thread/other/append', { tag: 'x', ms: 300 })).invocationId);
    const results = await Promise.all(ids.map(attach));
    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200]);
    expect(JSON.parse(results[2]?.body ?? '')).toEqual(['a', 'b', 'c']);

    const queue = (await eventsOf('queue')).map((event) => `${event.event}:${event.tag}`);
    expect(queue).toEqual([
      'append-start:a',
      'append-end:a',
      'append-start:b',
      'append-end:b',
      'append-start:c',
      'append-end:c',
    ]);
    const otherStart = (await eventsOf('other')).find((event) => event.event === 'append-start');
    const firstEnd = (await eventsOf('queue')).find((event) => event.event === 'append-end');
    expect(otherStart?.t).toBeLessThan(firstEnd?.t ?? 0); // not queued behind key "queue"
  });

  it('executes an ingress call with the same idempotency-key once', async () => {
    const headers = { 'idempotency-key': 'idem-1' };
    const first = await post('/Thread/idem/run', { steps: 1, stepMs: 50 }, headers);
    const second = await post('/Thread/idem/run', { steps: 1, stepMs: 50 }, headers);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get('x-restate-id')).toBe(first.headers.get('x-restate-id'));
    // Trap: same key, different body → the stored result of the first call, no error.
    const third = await post('/Thread/idem/run', { steps: 5, stepMs: 50 }, headers);
    expect((JSON.parse(await third.text()) as unknown[]).length).toBe(1);
    expect(count(await eventsOf('idem'), 'step-start')).toBe(1);

    const sendHeaders = { 'idempotency-key': 'idem-2' };
    const accepted = await send('/Thread/idem-send/run', { steps: 1, stepMs: 0 }, sendHeaders);
    const again = await send('/Thread/idem-send/run', { steps: 1, stepMs: 0 }, sendHeaders);
    expect(accepted.status).toBe('Accepted');
    expect(again).toEqual({ invocationId: accepted.invocationId, status: 'PreviouslyAccepted' });
    await attach(accepted.invocationId);
    expect(count(await eventsOf('idem-send'), 'step-start')).toBe(1);
  });

  it('wakes a handler awaiting an awakeable: from a shared handler of the same key, or through the ingress', async () => {
    const waiting = post('/Thread/wait-1/waitMessage', null);
    await waitForEvent(logFile, (event) => event.event === 'awaiting' && event.key === 'wait-1');
    // A shared handler runs while the exclusive one holds the key, and sees the state it already set.
    const delivered = await post('/Thread/wait-1/deliver', 'hello');
    expect(await delivered.json()).toBe(true);
    expect(await (await waiting).json()).toBe('hello');

    const waiting2 = post('/Thread/wait-2/waitMessage', null);
    const awaiting = await waitForEvent(logFile, (event) => event.event === 'awaiting' && event.key === 'wait-2');
    expect(String(awaiting.awakeableId)).toMatch(/^sign_/);
    const resolved = await post(`/restate/awakeables/${awaiting.awakeableId}/resolve`, 'from outside');
    expect(resolved.status).toBe(202);
    expect(await (await waiting2).json()).toBe('from outside');
  });

  it('lets a run drain messages from another object (an inbox) with durable calls between steps', async () => {
    const running = post('/Thread/inbox-1/run', { steps: 2, stepMs: 600, pullInbox: true });
    await waitForEvent(logFile, (event) => event.event === 'step-start' && event.key === 'inbox-1');
    // Thread/inbox-1 is locked by the run; Inbox/inbox-1 is another object and takes the message at once.
    const pushed = await post('/Inbox/inbox-1/push', 'while running');
    expect(pushed.status).toBe(200);
    const result = (await (await running).json()) as Array<{ inbox: string[] }>;
    expect(result.map((step) => step.inbox)).toEqual([['while running'], []]);
  });

  it('finishes a run on the other service process after kill -9 of the one running it; done steps are not re-run', async () => {
    const started = Date.now();
    const running = post('/Thread/crash-service/run', { steps: 4, stepMs: 400 });
    const third = await waitForEvent(
      logFile,
      (event) => event.event === 'step-start' && event.key === 'crash-service' && event.step === 2,
    );
    const victim = fixtures.find((fixture) => fixture.pid === third.pid);
    if (!victim) throw new Error('no fixture ran the step');
    await victim.kill9();
    const killedAt = Date.now();
    const response = await running;
    expect(response.status).toBe(200);
    const result = (await response.json()) as Array<{ step: number; pid: number }>;
    const survivor = fixtures.find((fixture) => fixture !== victim);
    expect(result.map((step) => step.pid)).toEqual([victim.pid, victim.pid, survivor?.pid, survivor?.pid]);

    const events = await eventsOf('crash-service');
    expect([0, 1].map((step) => count(events, 'step-start', step))).toEqual([1, 1]);
    expect(count(events, 'step-start', 2)).toBe(2); // the one in flight ran again
    const resumed = events.find((event) => event.step === 2 && event.pid === survivor?.pid);
    figures['service kill -9 → step resumed on the other process'] = `${(resumed?.t ?? 0) - killedAt} ms`;
    figures['4 × 400 ms steps with a service kill -9'] = `${Date.now() - started} ms`;

    // Put a second process back behind the balancer for the tests that follow.
    fixtures.splice(fixtures.indexOf(victim), 1, await startFixtureService({ logFile, name: 'C' }));
    balancer.setTargets(fixtures.map((fixture) => fixture.port));
  });

  it('lets a run finish on a process that shuts down gracefully (GOAWAY) while no new call arrives', async () => {
    const running = post('/Thread/drain-quiet/run', { steps: 3, stepMs: 500 });
    const second = await waitForEvent(
      logFile,
      (event) => event.event === 'step-start' && event.key === 'drain-quiet' && event.step === 1,
    );
    const leaving = fixtures.find((fixture) => fixture.pid === second.pid);
    if (!leaving) throw new Error('no fixture ran the step');
    // SIGTERM: server.close() + session.close() on every HTTP/2 session, exit when they are closed (grace 2 s).
    const stopping = leaving.stop();
    const response = await running;
    await stopping;
    expect(response.status).toBe(200);
    const result = (await response.json()) as Array<{ pid: number }>;
    expect(result.map((step) => step.pid)).toEqual([leaving.pid, leaving.pid, leaving.pid]);
    expect(count(await eventsOf('drain-quiet'), 'step-start')).toBe(3);
    fixtures.splice(fixtures.indexOf(leaving), 1, await startFixtureService({ logFile, name: 'D' }));
    balancer.setTargets(fixtures.map((fixture) => fixture.port));
  });

  it('moves the run of a draining process elsewhere without re-running finished steps when new calls arrive', async () => {
    const running = post('/Thread/drain-busy/run', { steps: 3, stepMs: 500 });
    const second = await waitForEvent(
      logFile,
      (event) => event.event === 'step-start' && event.key === 'drain-busy' && event.step === 1,
    );
    const leaving = fixtures.find((fixture) => fixture.pid === second.pid);
    if (!leaving) throw new Error('no fixture ran the step');
    const stopping = leaving.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // A new invocation while the connection drains: Restate (seen 1.7.12) may then drop that connection,
    // resetting the streams still in flight on it; those attempts are retried on the other process.
    expect((await post('/Thread/drain-busy-other/run', { steps: 1, stepMs: 0 })).status).toBe(200);
    const response = await running;
    await stopping;
    expect(response.status).toBe(200);
    const events = await eventsOf('drain-busy');
    for (const step of [0, 1, 2]) expect(count(events, 'step-end', step)).toBe(1);
    expect(count(events, 'step-start', 0)).toBe(1);
    const moved = events.some((event) => event.event === 'step-aborted' && event.pid === leaving.pid);
    figures['graceful stop + new call: in-flight step'] = moved ? 'reset, re-run elsewhere' : 'finished in place';
    fixtures.splice(fixtures.indexOf(leaving), 1, await startFixtureService({ logFile, name: 'E' }));
    balancer.setTargets(fixtures.map((fixture) => fixture.port));
  });

  it('cancels a run by thread key from outside: the in-flight step is aborted, the handler sees CancelledError', async () => {
    const { invocationId } = await send('/Thread/stop-1/run', { steps: 2, stepMs: 30_000, cleanup: true });
    const stepStart = await waitForEvent(logFile, (event) => event.event === 'step-start' && event.key === 'stop-1');
    // Three ways to the same id: the send answer, ctx.request().id in the handler, and the lock table by key.
    expect(stepStart.invocationId).toBe(invocationId);
    expect(await lockingInvocation(server.adminUrl, 'Thread', 'stop-1')).toBe(invocationId);
    const running = await adminQuery(
      server.adminUrl,
      `SELECT id, status FROM sys_invocation WHERE target_service_name = 'Thread' AND target_service_key = 'stop-1' AND target_handler_name = 'run' AND status <> 'completed'`,
    );
    expect(running).toEqual([{ id: invocationId, status: 'running' }]);

    const cancelledAt = Date.now();
    expect(await cancelInvocation(server.adminUrl, invocationId)).toBe(202);
    const aborted = await waitForEvent(logFile, (event) => event.event === 'step-aborted' && event.key === 'stop-1');
    const abortMs = aborted.t - cancelledAt;
    expect(abortMs).toBeLessThan(2000);
    figures['cancel → step AbortSignal fired'] = `${abortMs} ms`;

    expect(await attach(invocationId)).toEqual({
      status: 409,
      body: JSON.stringify({ code: 409, message: 'Cancelled', source: 'invocation' }),
    });
    const events = await eventsOf('stop-1');
    expect(events.find((event) => event.event === 'handler-error')).toMatchObject({
      errorName: 'CancelledError',
      code: 409,
      cancelled: true,
      terminal: true,
    });
    expect(count(events, 'cleanup')).toBe(1); // a durable step after the cancellation still runs
    expect(await lockingInvocation(server.adminUrl, 'Thread', 'stop-1')).toBeUndefined();
    expect(await cancelInvocation(server.adminUrl, invocationId)).toBe(409); // already completed
  });

  it('fires ctx.request().attemptCompletedSignal once the cancelled attempt has ended', async () => {
    const { invocationId } = await send('/Thread/stop-2/run', { steps: 2, stepMs: 30_000, abortOn: 'attempt' });
    await waitForEvent(logFile, (event) => event.event === 'step-start' && event.key === 'stop-2');
    const cancelledAt = Date.now();
    await cancelInvocation(server.adminUrl, invocationId);
    const aborted = await waitForEvent(logFile, (event) => event.event === 'step-aborted' && event.key === 'stop-2');
    expect(aborted.reason).toBe('Error: attempt completed');
    expect(aborted.t - cancelledAt).toBeLessThan(2000);
    figures['cancel → attemptCompletedSignal'] = `${aborted.t - cancelledAt} ms`;
    expect((await attach(invocationId)).status).toBe(409);
  });

  it('with explicitCancellation, ctx.cancellation() raced against the step aborts it', async () => {
    const { invocationId } = await send('/ExplicitThread/stop-3/run', { steps: 2, stepMs: 30_000 });
    await waitForEvent(logFile, (event) => event.event === 'step-start' && event.key === 'stop-3');
    const cancelledAt = Date.now();
    await cancelInvocation(server.adminUrl, invocationId);
    const aborted = await waitForEvent(logFile, (event) => event.event === 'step-aborted' && event.key === 'stop-3');
    expect(aborted.reason).toBe('Error: invocation cancelled');
    expect(aborted.t - cancelledAt).toBeLessThan(2000);
    expect((await attach(invocationId)).status).toBe(409);
  });

  it('throws away and re-runs a step longer than inactivityTimeout + abortTimeout; kill ends the attempt at once', async () => {
    // Patient: inactivityTimeout 1 s, abortTimeout 1 s; the step takes 2.5 s and never gets journaled.
    const { invocationId } = await send('/Patient/slow/run', { steps: 1, stepMs: 2500 });
    const starts = async () => count(await eventsOf('slow'), 'step-start');
    const deadline = Date.now() + 10_000;
    while ((await starts()) < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await starts()).toBe(2);
    const events = await eventsOf('slow');
    expect(count(events, 'step-end')).toBe(1); // the first run finished, yet its result was discarded
    expect(count(events, 'step-aborted')).toBe(0); // the SDK's signal did not fire when the server gave up
    const [failure] = await adminQuery<{ last_failure: string; retry_count: number }>(
      server.adminUrl,
      `SELECT last_failure, retry_count FROM sys_invocation WHERE id = '${invocationId}'`,
    );
    expect(failure?.last_failure).toContain("the invocation stream was closed after the 'abort timeout' (1s) fired");

    // Kill (not cancel): no handler code runs, the HTTP/2 stream is reset, attemptCompletedSignal fires.
    const killedAt = Date.now();
    const killed = await fetch(`${server.adminUrl}/invocations/${invocationId}/kill`, { method: 'PATCH' });
    expect(killed.status).toBe(200);
    const aborted = await waitForEvent(logFile, (event) => event.event === 'step-aborted' && event.key === 'slow');
    expect(aborted.t - killedAt).toBeLessThan(2000);
    expect(await attach(invocationId)).toEqual({
      status: 409,
      body: JSON.stringify({ code: 409, message: 'killed', source: 'invocation' }),
    });
  });

  it('survives kill -9 of restate-server: the run resumes after a restart, delayed calls still fire once', async () => {
    const { invocationId } = await send('/Thread/crash-server/run', { steps: 3, stepMs: 600 });
    await waitForEvent(
      logFile,
      (event) => event.event === 'step-start' && event.key === 'crash-server' && event.step === 1,
    );
    // A delayed call sent from a handler (ctx.objectSendClient + rpc.sendOpts({delay})) and one through the ingress.
    const scheduledAt = Date.now();
    expect((await post('/Thread/crash-server-timer/schedule', { tag: 'from-handler', delayMs: 2000 })).status).toBe(
      200,
    );
    const viaIngress = await fetch(`${server.ingressUrl}/Recorder/crash-server-timer/record/send?delay=2s`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify('from-ingress'),
    });
    expect(viaIngress.status).toBe(202);
    expect(((await viaIngress.json()) as { executionTime?: string }).executionTime).toBeDefined();

    await server.kill9();
    const restartedAt = Date.now();
    await server.restart();
    figures['restart after kill -9 → healthy'] = `${Date.now() - restartedAt} ms`;

    const result = await attach(invocationId);
    expect(result.status).toBe(200);
    expect((JSON.parse(result.body) as unknown[]).length).toBe(3);
    const events = await eventsOf('crash-server');
    expect(count(events, 'step-start', 0)).toBe(1); // journaled before the crash: not re-run
    expect(count(events, 'step-start', 1)).toBe(2); // in flight: aborted (attempt over) and run again
    expect(count(events, 'step-aborted', 1)).toBe(1);

    await waitForEvent(logFile, (event) => event.event === 'record' && event.tag === 'from-handler');
    await waitForEvent(logFile, (event) => event.event === 'record' && event.tag === 'from-ingress');
    const records = (await eventsOf('crash-server-timer')).filter((event) => event.event === 'record');
    expect(records.map((event) => event.tag).sort()).toEqual(['from-handler', 'from-ingress']);
    for (const record of records) expect(record.t - scheduledAt).toBeGreaterThanOrEqual(1900);
  });

  it('keeps object state across a graceful restart on the same data dir and ports', async () => {
    const { ingressUrl, adminUrl } = server;
    await server.restart();
    expect([server.ingressUrl, server.adminUrl]).toEqual([ingressUrl, adminUrl]);
    const rows = await adminQuery<{ value_utf8: string }>(
      server.adminUrl,
      `SELECT value_utf8 FROM state WHERE service_name = 'Thread' AND service_key = 'queue' AND key = 'order'`,
    );
    expect(rows.map((row) => JSON.parse(row.value_utf8))).toEqual([['a', 'b', 'c']]);
    const response = await post('/Thread/after-restart/run', { steps: 1, stepMs: 0 });
    expect(response.status).toBe(200);
  });
});
