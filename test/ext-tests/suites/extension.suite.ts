// Our extension as VS Code sees it: installed, activating, its commands registered.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_UNDER_TEST_ID } from '../src/results.js';
import { suite, test } from '../src/tdd.js';

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
});
