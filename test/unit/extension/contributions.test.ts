// package.json's contributions against the code: launch-config fields, commands, views, settings,
// and the custom messages, each defined once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ATTACH_FIELDS } from '../../../src/config/attachConfig';
import { COMMANDS, CONTEXT_KEYS, DEBUG_TYPE, VIEWS } from '../../../src/extension/ids';
import { SETTING_DEFAULTS, SETTINGS_SECTION } from '../../../src/extension/config';
import { repoRoot } from '../../support/repoRoot';

interface Manifest {
  contributes: {
    debuggers: Array<{ type: string; configurationAttributes: { attach: { properties: Record<string, unknown> } } }>;
    commands: Array<{ command: string }>;
    views: Record<string, Array<{ id: string }>>;
    configuration: { properties: Record<string, { default?: unknown }> };
    menus: Record<string, Array<{ command: string; when?: string }>>;
  };
}

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Manifest;

function sources(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ path: join(dir, f), text: readFileSync(join(repoRoot, dir, f), 'utf8') }));
}

test('the launch configuration attributes in package.json are exactly the fields the resolver knows', () => {
  const [debuggerContribution] = manifest.contributes.debuggers;
  assert.equal(debuggerContribution.type, DEBUG_TYPE);
  assert.deepEqual(Object.keys(debuggerContribution.configurationAttributes.attach.properties).sort(), [...ATTACH_FIELDS].sort());
});

test('every contributed command has one id in src/extension/ids.ts and is registered', () => {
  assert.deepEqual(manifest.contributes.commands.map((c) => c.command).sort(), Object.values(COMMANDS).sort());
  const extension = sources('src/extension')
    .map((s) => s.text)
    .join('\n');
  for (const key of Object.keys(COMMANDS)) {
    assert.match(extension, new RegExp(`registerCommand\\(COMMANDS\\.${key}\\b`), `COMMANDS.${key} is never registered`);
  }
  for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
    for (const item of items) assert.ok(Object.values(COMMANDS).includes(item.command as never), `menu ${menu} names unknown command ${item.command}`);
  }
});

test('views and context keys in package.json are the ones the code uses', () => {
  const views = Object.values(manifest.contributes.views)
    .flat()
    .map((v) => v.id);
  assert.deepEqual(views.sort(), Object.values(VIEWS).sort());
  const text = readFileSync(join(repoRoot, 'package.json'), 'utf8');
  for (const key of text.match(/bluepill\.[a-zA-Z]+(?=\s*(&&|\|\||"|$))/g) ?? []) {
    if (Object.values(CONTEXT_KEYS).includes(key as never) || Object.values(VIEWS).includes(key as never) || Object.values(COMMANDS).includes(key as never))
      continue;
    if (key.startsWith(`${SETTINGS_SECTION}.`) && key.slice(SETTINGS_SECTION.length + 1) in SETTING_DEFAULTS) continue;
    assert.fail(`package.json uses ${key}, which the code does not define`);
  }
});

test('settings: package.json declares the typed settings with the same defaults, and only src/extension/config.ts reads them', () => {
  const declared = manifest.contributes.configuration.properties;
  assert.deepEqual(
    Object.keys(declared).sort(),
    Object.keys(SETTING_DEFAULTS)
      .map((k) => `${SETTINGS_SECTION}.${k}`)
      .sort(),
  );
  for (const [key, value] of Object.entries(SETTING_DEFAULTS)) assert.deepEqual(declared[`${SETTINGS_SECTION}.${key}`].default, value, key);
  const readers = sources('src')
    .filter((s) => /getConfiguration\(/.test(s.text))
    .map((s) => s.path);
  assert.deepEqual(readers, [join('src/extension', 'config.ts')]);
});

test('every custom DAP/LSP message name is written once, in src/protocol', () => {
  const defined = new Map<string, string>();
  for (const { path, text } of sources('src/protocol')) {
    for (const m of text.matchAll(/\b(dapRequest|dapEvent|lspRequest)<[^;]*?>\('([^']+)'\)/g)) {
      const key = `${m[1]} ${m[2]}`;
      assert.ok(!defined.has(key), `${key} is defined in ${defined.get(key)} and ${path}`);
      defined.set(key, path);
    }
  }
  assert.ok(defined.size >= 10, `found only ${defined.size} message definitions; did the pattern stop matching?`);
  for (const { path, text } of sources('src')) {
    if (path.startsWith('src/protocol')) continue;
    const literal = /'bluepill\/[a-zA-Z]+'/.exec(text);
    assert.equal(literal, null, `${path} writes the message name ${literal?.[0]}; use its definition in src/protocol`);
  }
});
