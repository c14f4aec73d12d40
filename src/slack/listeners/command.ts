import type { App } from '@slack/bolt';
import type { RepoChecker } from '../../github/repo-checker.js';
import { fullName } from '../../github/repo-ref.js';
import type { Logger } from '../../lib/logger.js';
import type { AccessPolicy } from '../../runs/access-policy.js';
import type { ChannelOverview } from '../../runs/channel-overview.js';
import type { LinkStore } from '../../store/link-store.js';
import { applyConfig, type ChannelConfigDeps, CONFIG_USAGE, parseConfigRequest } from '../channel-config.js';
import { parseCommand } from '../command-parser.js';
import {
  helpText,
  linkedText,
  listText,
  notAllowedToLinkText,
  notLinkedText,
  repoNotAllowedText,
  unlinkedText,
} from '../command-text.js';
import { describeFailure } from '../failure.js';

export interface CommandDeps {
  links: LinkStore;
  repoChecker: RepoChecker;
  access: AccessPolicy;
  githubServerUrl: string;
  logger: Logger;
  redact: (text: string) => string;
  /** Threads at work and live sandboxes, for `/ai-dev list`. */
  overview?: ChannelOverview;
  /** Frees what a link kept alive (its sandboxes) once it is removed. */
  onUnlink?: (channel: string, repo: string) => Promise<void>;
  /** `/ai-dev config`: the channel's run defaults. */
  config?: ChannelConfigDeps;
}

/**
 * `/ai-dev`: every answer that needs no I/O goes in the ack itself; GitHub and store work
 * happens after the ack and answers through response_url.
 */
export function registerCommand(app: App, deps: CommandDeps): void {
  app.command('/ai-dev', async ({ command, ack, respond }) => {
    const parsed = parseCommand(command.text ?? '', deps.githubServerUrl);
    const log = deps.logger.child({ command: parsed.kind, channel: command.channel_id, user: command.user_id });
    // What GitHub or a failure said goes through the redactor like every other post.
    const ephemeral = (text: string) =>
      respond({ response_type: 'ephemeral', text: deps.redact(text), replace_original: false });
    const fail = (error: unknown) => ephemeral(describeFailure(error, log, { command: parsed.kind }));

    switch (parsed.kind) {
      case 'help':
        await ack({ response_type: 'ephemeral', text: helpText() });
        return;
      case 'invalid':
        await ack({ response_type: 'ephemeral', text: `${parsed.problem}\n${parsed.usage}` });
        return;
      case 'list': {
        await ack();
        try {
          const [links, threads, sandboxes] = await Promise.all([
            deps.links.list(command.channel_id),
            deps.overview?.activeThreads(command.channel_id) ?? [],
            deps.overview?.liveSandboxes(command.channel_id) ?? [],
          ]);
          await ephemeral(listText(links, threads, sandboxes));
        } catch (error) {
          await fail(error);
        }
        return;
      }
      case 'config': {
        const request = parseConfigRequest(parsed.words);
        if (request.kind === 'invalid' || !deps.config) {
          const problem = request.kind === 'invalid' ? request.problem : 'Run settings are not available here.';
          await ack({ response_type: 'ephemeral', text: `${problem}\n${CONFIG_USAGE}` });
          return;
        }
        // Changing what every run of the channel costs is for the people who may link repos.
        if (request.kind === 'set' && !deps.access.mayLink(command.user_id)) {
          await ack({ response_type: 'ephemeral', text: notAllowedToLinkText() });
          return;
        }
        await ack();
        try {
          const result = await applyConfig(deps.config, command.channel_id, command.user_id, request);
          if (result.changed) {
            log.info({ setting: request.kind === 'set' ? request.name : undefined }, 'channel settings changed');
            await respond({ response_type: 'in_channel', text: result.text });
          } else await ephemeral(result.text);
        } catch (error) {
          await fail(error);
        }
        return;
      }
      case 'link':
      case 'unlink': {
        if (!deps.access.mayLink(command.user_id)) {
          await ack({ response_type: 'ephemeral', text: notAllowedToLinkText() });
          return;
        }
        const name = fullName(parsed.repo);
        if (parsed.kind === 'unlink') {
          await ack();
          try {
            const removed = await deps.links.remove(command.channel_id, name);
            if (!removed) await ephemeral(notLinkedText(name));
            else {
              await respond({ response_type: 'in_channel', text: unlinkedText(removed.repo, command.user_id) });
              await deps.onUnlink?.(command.channel_id, removed.repo);
            }
          } catch (error) {
            await fail(error);
          }
          return;
        }
        if (!deps.access.repoAllowed(name)) {
          await ack({ response_type: 'ephemeral', text: repoNotAllowedText(name) });
          return;
        }
        await ack({ response_type: 'ephemeral', text: `Checking *${name}* on GitHub…` });
        try {
          const repo = await deps.repoChecker.check(parsed.repo);
          // The name GitHub returns is canonical (case, renames); the allow-list applies to it too.
          if (!deps.access.repoAllowed(repo.fullName)) {
            await ephemeral(repoNotAllowedText(repo.fullName));
            return;
          }
          const link = {
            repo: repo.fullName,
            defaultBranch: repo.defaultBranch,
            private: repo.private,
            linkedBy: command.user_id,
            linkedAt: new Date().toISOString(),
            ...(parsed.setup ? { setup: parsed.setup } : {}),
            ...(parsed.template ? { template: parsed.template } : {}),
          };
          const result = await deps.links.add(command.channel_id, link);
          log.info({ repo: link.repo, result }, 'repo linked');
          await respond({ response_type: 'in_channel', text: linkedText(link, command.user_id, result === 'updated') });
        } catch (error) {
          await fail(error);
        }
        return;
      }
    }
  });
}
