import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FAKE_GITHUB_TOKEN } from '../fakes/github-server.js';
import { ackText, type Harness, startHarness } from '../helpers/harness.js';

describe('/ai-dev over signed HTTP into the real Bolt app', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.github.addRepo({ owner: 'acme', name: 'widgets', defaultBranch: 'main' });
    await h.github.addRepo({ owner: 'acme', name: 'secret-sauce', defaultBranch: 'trunk', private: true });
    await h.github.addRepo({ owner: 'acme', name: 'readonly', pushAllowed: false });
    await h.github.addRepo({ owner: 'acme', name: 'old', archived: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const healthy = async () => {
    const res = await fetch(`${h.botUrl}/healthz`);
    expect(res.status).toBe(200);
  };

  it('links a repo, confirms in the channel, lists and unlinks it', async () => {
    const { ack, response } = await h.command('link acme/widgets', { expectResponse: true });
    expect(ack.status).toBe(200);
    // The ack says the check is under way: it went out before the GitHub look-up ended (Slack wants it in 3 s).
    expect(ackText(ack)).toContain('Checking *acme/widgets* on GitHub');
    expect(response?.response_type).toBe('in_channel');
    expect(response?.text).toContain('linked *acme/widgets* (default branch `main`)');

    const list = await h.command('list', { expectResponse: true });
    expect(list.response?.response_type).toBe('ephemeral');
    expect(list.response?.text).toContain('*acme/widgets* @ `main`');

    const unlink = await h.command('unlink acme/widgets', { expectResponse: true });
    expect(unlink.response?.response_type).toBe('in_channel');
    expect(unlink.response?.text).toContain('unlinked *acme/widgets*');

    const empty = await h.command('list', { expectResponse: true });
    expect(empty.response?.text).toContain('No repos are linked');
  });

  it('accepts a GitHub URL and keeps GitHub’s name and default branch for a private repo', async () => {
    const { response } = await h.command(`link ${h.github.serverUrl}/ACME/secret-sauce.git`, {
      channel: 'C0URL',
      expectResponse: true,
    });
    // The URL is on the configured GitHub server (the fake), like a GHES URL.
    expect(response?.text).toContain('*acme/secret-sauce* (default branch `trunk`)');
    const list = await h.command('list', { channel: 'C0URL', expectResponse: true });
    expect(list.response?.text).toContain('(private)');
  });

  it('answers help, nothing and unknown verbs with the usage, only to the person', async () => {
    for (const text of ['help', '', 'dance']) {
      const { ack } = await h.command(text);
      expect(ack.status).toBe(200);
      expect((ack.json as { response_type?: string }).response_type).toBe('ephemeral');
      expect(ackText(ack)).toContain('/ai-dev link owner/repo');
    }
  });

  it.each([
    ['link', /Which repo/],
    ['link acme/widgets now please', /exactly one repo/],
    ['link ../../etc/passwd', /not a GitHub repo name/],
    ['link acme/..', /not a GitHub repo name/],
    ['link acme/$(reboot)', /not a GitHub repo name/],
    ['link acme/w;rm', /not a GitHub repo name/],
    [`link acme/${'x'.repeat(120)}`, /not a GitHub repo name/],
    ['link https://evil.example.com/acme/widgets', /not a GitHub repo name/],
    ['unlink', /Which repo/],
  ])('rejects %j with a clear message and the usage line', async (text, problem) => {
    const { ack } = await h.command(text);
    expect(ack.status).toBe(200);
    expect(ackText(ack)).toMatch(problem);
    expect(ackText(ack)).toMatch(/Usage: `\/ai-dev (un)?link owner\/repo( \[--setup[^`]*)?`/);
    await healthy();
  });

  it('explains a missing repo, missing push access and an archived repo, ephemerally', async () => {
    const missing = await h.command('link acme/nope', { expectResponse: true });
    expect(missing.response?.response_type).toBe('ephemeral');
    expect(missing.response?.text).toMatch(/can’t find acme\/nope on GitHub.*reference ERR-[0-9A-F]{8}/);

    const readonly = await h.command('link acme/readonly', { expectResponse: true });
    expect(readonly.response?.response_type).toBe('ephemeral');
    expect(readonly.response?.text).toMatch(/can read acme\/readonly but cannot push/);

    const archived = await h.command('link acme/old', { expectResponse: true });
    expect(archived.response?.text).toMatch(/archived/);
    await healthy();
  });

  it('explains a bad GitHub token', async () => {
    h.github.expireToken(DEFAULT_FAKE_GITHUB_TOKEN);
    try {
      const { response } = await h.command('link acme/widgets', { channel: 'C0BAD', expectResponse: true });
      expect(response?.response_type).toBe('ephemeral');
      expect(response?.text).toMatch(/GitHub rejected the bot’s credential.*GITHUB_TOKEN/);
    } finally {
      h.github.addToken(DEFAULT_FAKE_GITHUB_TOKEN, { login: 'test-user', kind: 'user' });
    }
    const list = await h.command('list', { channel: 'C0BAD', expectResponse: true });
    expect(list.response?.text).toContain('No repos are linked');
  });

  it('rejects a request with a bad signature', async () => {
    const res = await fetch(`${h.botUrl}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-signature': 'v0=deadbeef',
        'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
      },
      body: 'command=%2Fai-dev&text=link+acme%2Fwidgets&channel_id=C0SIG&user_id=U1',
    });
    expect(res.status).toBe(401);
    const list = await h.command('list', { channel: 'C0SIG', expectResponse: true });
    expect(list.response?.text).toContain('No repos are linked');
  });

  it('keeps a link across a restart on the same SQLite file', async () => {
    await h.command('link acme/widgets', { channel: 'C0KEEP', expectResponse: true });
    await h.restart();
    const { response } = await h.command('list', { channel: 'C0KEEP', expectResponse: true });
    expect(response?.text).toContain('*acme/widgets* @ `main`');
  });

  it('applies the link allow-lists', async () => {
    await h.restart({ ALLOW_LINK_USERS: 'U0BOSS', ALLOW_REPOS: 'acme/secret-*' });
    try {
      const refused = await h.command('link acme/secret-sauce', { channel: 'C0ACL', user: 'U0OTHER' });
      expect(ackText(refused.ack)).toMatch(/not on the list of people who may link/);
      const wrongRepo = await h.command('link acme/widgets', { channel: 'C0ACL', user: 'U0BOSS' });
      expect(ackText(wrongRepo.ack)).toMatch(/not on the list of repos/);
      const ok = await h.command('link acme/secret-sauce', { channel: 'C0ACL', user: 'U0BOSS', expectResponse: true });
      expect(ok.response?.text).toContain('linked *acme/secret-sauce*');
    } finally {
      await h.restart();
    }
  });

  it('never writes a secret into the logs', () => {
    const logs = h.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [
      h.env.SLACK_BOT_TOKEN,
      h.env.SLACK_SIGNING_SECRET,
      h.env.OPENAI_API_KEY,
      h.env.GITHUB_TOKEN,
    ]) {
      expect(logs).not.toContain(secret);
    }
  });
});
