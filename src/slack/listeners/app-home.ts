import type { App } from '@slack/bolt';
import type { Logger } from '../../lib/logger.js';
import { type HomeData, homeView } from '../app-home.js';

export interface AppHomeDeps {
  /** What the user may see: their channels' linked repos, active runs, recent pull requests, dollars this week. */
  homeData: (user: string) => Promise<HomeData>;
  logger?: Logger;
}

/** Publishes the user's Home tab each time they open it (`app_home_opened`, tab `home`). */
export function registerAppHome(app: App, deps: AppHomeDeps): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== undefined && event.tab !== 'home') return;
    try {
      const data = await deps.homeData(event.user);
      await client.views.publish({ user_id: event.user, view: homeView(data) });
    } catch (error) {
      deps.logger?.error({ err: error, user: event.user }, 'could not publish the Home tab');
    }
  });
}
