import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

const manifest = YAML.parse(readFileSync('deploy/slack-app-manifest.yaml', 'utf8'));

describe('deploy/slack-app-manifest.yaml', () => {
  it('declares the /flannel command, interactivity and Socket Mode the bot relies on', () => {
    expect(manifest.features.slash_commands.map((c: { command: string }) => c.command)).toEqual(['/flannel']);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });

  it('asks for exactly the bot scopes the bot uses', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(
      [
        'channels:history',
        'chat:write',
        'chat:write.public',
        'commands',
        'groups:history',
        'usergroups:read',
      ].sort(),
    );
  });
});
