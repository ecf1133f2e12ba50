// Our extension as VS Code sees it: installed, activating, its commands registered.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_UNDER_TEST_ID } from '../src/results';
import { suite, test } from '../src/tdd';

suite('bluepill-debug extension', () => {
  test('is installed', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_UNDER_TEST_ID);
    assert.ok(ext, `${EXTENSION_UNDER_TEST_ID} is not among the installed extensions`);
  });

  test('activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_UNDER_TEST_ID);
    assert.ok(ext);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  test('registers bluepill.pickSandbox', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('bluepill.pickSandbox'), 'bluepill.pickSandbox is not a registered command');
  });

  test('registers every command its package.json contributes', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_UNDER_TEST_ID);
    assert.ok(ext);
    await ext.activate();
    const manifest = ext.packageJSON as { contributes?: { commands?: { command: string }[] } };
    const contributed = (manifest.contributes?.commands ?? []).map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((c) => !registered.has(c)),
      [],
      'contributed but not registered',
    );
  });
});
