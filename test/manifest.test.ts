import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// ajv-formats ships CommonJS; its default export arrives wrapped under ESM.
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

const root = new URL('..', import.meta.url);

interface Manifest {
  display_information?: unknown;
  features: {
    bot_user: { display_name: string };
    slash_commands: Array<{ command: unknown }>;
    app_home?: { home_tab_enabled?: boolean; messages_tab_enabled?: boolean };
    agent_view?: { agent_description?: unknown };
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { bot_events: string[] };
    interactivity: { is_enabled: boolean };
    socket_mode_enabled: boolean;
  };
}

async function load() {
  const manifest = parse(await readFile(new URL('manifest.yml', root), 'utf8')) as Manifest;
  const schema = JSON.parse(await readFile(new URL('test/fixtures/slack/manifest.schema.2.0.0.json', root), 'utf8'));
  return { manifest, schema };
}

describe('manifest.yml', () => {
  it("validates against Slack's official manifest schema", async () => {
    const { manifest, schema } = await load();
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const valid = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema catches a broken manifest (the check can fail)', async () => {
    const { manifest, schema } = await load();
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const broken = structuredClone(manifest);
    const command = broken.features.slash_commands[0];
    if (command) command.command = 42;
    delete broken.display_information;
    expect(ajv.compile(schema)(broken)).toBe(false);
  });

  it('installs what the product needs and no more', async () => {
    const { manifest } = await load();
    expect(manifest.features.bot_user.display_name).toBe('ai-dev');
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/ai-dev']);
    expect(manifest.settings.event_subscriptions.bot_events.sort()).toEqual([
      'agent_session_stopped',
      'app_home_opened',
      'app_mention',
      'message.channels',
      'message.groups',
    ]);
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual([
      'app_mentions:read',
      'assistant:write',
      'channels:history',
      'channels:read',
      'chat:write',
      'commands',
      'groups:history',
      'groups:read',
      'users:read',
    ]);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });

  it('declares the agent (sessions with a native Stop) and the Home tab (issue 12)', async () => {
    const { manifest } = await load();
    expect(typeof manifest.features.agent_view?.agent_description).toBe('string');
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: false });
  });

  it('the schema knows the agent feature: a wrong field under agent_view fails', async () => {
    const { manifest, schema } = await load();
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const broken = structuredClone(manifest) as Manifest & { features: { agent_view?: Record<string, unknown> } };
    broken.features.agent_view = { agent_description: 'x'.repeat(301) };
    expect(ajv.compile(schema)(broken)).toBe(false);
    broken.features.agent_view = { description: 'not the field Slack names' };
    expect(ajv.compile(schema)(broken)).toBe(false);
  });
});
