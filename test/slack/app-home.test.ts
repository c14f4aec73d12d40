import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HomeData, homeView } from '../../src/slack/app-home.js';
import { registerAppHome } from '../../src/slack/listeners/app-home.js';
import { appHomeOpenedEvent, type FakeSlack, startFakeSlack, validateBlocks } from '../fakes/slack-server.js';
import { type TestBoltApp, testBoltApp } from '../helpers/bolt-app.js';

const NOW = 1_800_000_000_000;

const data: HomeData = {
  now: NOW,
  channels: [
    {
      channelId: 'C0WIDGETS',
      repos: ['acme/widgets', 'acme/api'],
      dollarsThisWeek: 12.345,
      activeRuns: [
        {
          repo: 'acme/widgets',
          title: 'Fix the <leap-year> bug',
          permalink: 'https://example.slack.com/archives/C0WIDGETS/p1700000000000100',
          startedAt: NOW - 125_000,
          dollars: 1.2,
        },
        { repo: 'acme/api', title: 'Add pagination', startedAt: NOW - 3_600_000, dollars: 10, paused: true },
      ],
    },
    { channelId: 'C0QUIET', repos: ['acme/docs'], dollarsThisWeek: 0, activeRuns: [] },
  ],
  recentPullRequests: [
    {
      repo: 'acme/widgets',
      number: 7,
      title: 'Fix leap years',
      url: 'https://github.com/acme/widgets/pull/7',
      channelId: 'C0WIDGETS',
    },
    { repo: 'acme/api', number: 3, title: 'Docs', url: 'https://github.com/acme/api/pull/3', state: 'merged' },
  ],
};

function texts(view: ReturnType<typeof homeView>): string {
  return JSON.stringify(view.blocks);
}

describe('homeView', () => {
  it("shows each channel's repos, active runs with links and dollars this week, then recent pull requests", () => {
    const view = homeView(data);
    expect(view.type).toBe('home');
    expect(validateBlocks(view.blocks, 'home', '/view/blocks')).toEqual([]);
    const sections = view.blocks
      .filter((b) => b.type === 'section')
      .map((b) => (b as { text: { text: string } }).text.text);
    expect(sections).toEqual([
      '*<#C0WIDGETS>* · $12.35 this week\n`acme/widgets`, `acme/api`',
      '• <https://example.slack.com/archives/C0WIDGETS/p1700000000000100|acme/widgets: Fix the &lt;leap-year&gt; bug> — running, 2 min 5 s, $1.20\n' +
        '• acme/api: Add pagination — paused at its budget, 1 h, $10.00',
      '*<#C0QUIET>* · $0.00 this week\n`acme/docs`\n_No run in progress._',
      '• <https://github.com/acme/widgets/pull/7|acme/widgets#7> Fix leap years · <#C0WIDGETS>\n' +
        '• <https://github.com/acme/api/pull/3|acme/api#3> Docs (merged)',
    ]);
    expect(texts(view)).toContain('*$12.35* this week');
  });

  it('says what to do when there is nothing yet', () => {
    const view = homeView({ channels: [], recentPullRequests: [] });
    expect(texts(view)).toContain('/ai-dev link owner/repo');
    expect(texts(view)).toContain('No pull request yet.');
    expect(validateBlocks(view.blocks, 'home', '/view/blocks')).toEqual([]);
  });

  it("stays within Slack's view limits however much there is", () => {
    const many: HomeData = {
      now: NOW,
      channels: Array.from({ length: 120 }, (_, i) => ({
        channelId: `C0CH${i}`,
        repos: Array.from({ length: 30 }, (_, r) => `acme/repo-${r}-${'x'.repeat(60)}`),
        dollarsThisWeek: i,
        activeRuns: Array.from({ length: 9 }, (_, r) => ({
          repo: `acme/repo-${r}`,
          title: 't'.repeat(500),
          permalink: `https://example.slack.com/archives/C0CH${i}/p${r}`,
        })),
      })),
      recentPullRequests: Array.from({ length: 40 }, (_, n) => ({
        repo: 'acme/widgets',
        number: n,
        title: 'p'.repeat(400),
        url: `https://github.com/acme/widgets/pull/${n}`,
      })),
    };
    const view = homeView(many);
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(validateBlocks(view.blocks, 'home', '/view/blocks')).toEqual([]);
    expect(texts(view)).toMatch(/and \d+ more channels/);
    expect(texts(view)).toContain('and 4 more');
  });
});

describe('registerAppHome', () => {
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

  it('publishes the Home tab of the user who opened it', async () => {
    const asked: string[] = [];
    registerAppHome(bolt.app, {
      homeData: async (user) => {
        asked.push(user);
        return data;
      },
    });
    await bolt.start();
    await fake.sendEvent(appHomeOpenedEvent({ user: 'U0ALICE' }));
    await fake.waitFor((call) => call.method === 'views.publish' && call.status === 200);
    expect(asked).toEqual(['U0ALICE']);
    expect(fake.homeView('U0ALICE')?.view.blocks).toEqual(homeView(data).blocks);
    // The Messages tab publishes nothing.
    await fake.sendEvent(appHomeOpenedEvent({ user: 'U0ALICE', tab: 'messages' }));
    expect(fake.homeViews('U0ALICE')).toHaveLength(1);
  });

  it('logs and publishes nothing when the data cannot be read', async () => {
    registerAppHome(bolt.app, {
      homeData: async () => {
        throw new Error('store down');
      },
      logger: bolt.log.logger,
    });
    await bolt.start();
    await fake.sendEvent(appHomeOpenedEvent({ user: 'U0BOB' }));
    while (!bolt.log.text().includes('could not publish')) {
      await new Promise((resolve) => bolt.log.stream.once('data', resolve));
    }
    expect(bolt.log.text()).toContain('could not publish the Home tab');
    expect(fake.homeView('U0BOB')).toBeUndefined();
  });
});
