// Launch configurations of type `bluepill`: the starting snippets, defaults for F5 without a
// launch.json, and validation (in src/config, shared with the adapter) before the session
// starts, with the picker when several sandboxes run and none was named.
import * as vscode from 'vscode';
import { ConfigError, resolveAttachConfig } from '../config/attachConfig';
import { chooseSandboxInteractively, listSandboxesOn, pickSandboxCommand } from './sandboxPicker';
import { DEBUG_TYPE, COMMANDS } from './ids';

export const INITIAL_CONFIGURATIONS: vscode.DebugConfiguration[] = [
  {
    name: 'Attach to runsc-sandbox on a Pi (SSH)',
    type: DEBUG_TYPE,
    request: 'attach',
    ssh: 'pi@raspberrypi',
    processId: '${command:bluepill.pickSandbox}',
    sudo: true,
    stopOnAttach: false,
  },
  {
    name: 'Attach to a local runsc-sandbox',
    type: DEBUG_TYPE,
    request: 'attach',
    processId: '${command:bluepill.pickSandbox}',
    sudo: false,
    stopOnAttach: false,
  },
];

class BluepillConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return INITIAL_CONFIGURATIONS;
  }

  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration {
    // F5 with no launch.json: attach to the local sandbox.
    if (!config.type && !config.request && !config.name) return { ...INITIAL_CONFIGURATIONS[1], processId: undefined };
    return { ...config, type: config.type || DEBUG_TYPE, request: config.request || 'attach', name: config.name || 'Bluepill attach' };
  }

  async resolveDebugConfigurationWithSubstitutedVariables(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    let resolved;
    try {
      resolved = resolveAttachConfig(config);
    } catch (err) {
      const field = err instanceof ConfigError ? err.field : '';
      void vscode.window.showErrorMessage(`Bluepill launch configuration${field ? ` ("${field}")` : ''}: ${(err as Error).message}`);
      return undefined;
    }
    if (resolved.processId !== undefined || resolved.sandbox !== undefined) return config;
    // Neither given: the only sandbox, or ask.
    try {
      const found = await listSandboxesOn(resolved);
      const chosen = await chooseSandboxInteractively(found, resolved.ssh ?? 'this machine');
      return chosen ? { ...config, processId: chosen.pid } : undefined;
    } catch (err) {
      void vscode.window.showErrorMessage((err as Error).message);
      return undefined;
    }
  }
}

export function registerDebugConfiguration(context: vscode.ExtensionContext): void {
  const provider = new BluepillConfigurationProvider();
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider),
    vscode.debug.registerDebugConfigurationProvider(
      DEBUG_TYPE,
      { provideDebugConfigurations: () => INITIAL_CONFIGURATIONS },
      vscode.DebugConfigurationProviderTriggerKind.Dynamic,
    ),
    vscode.commands.registerCommand(COMMANDS.pickSandbox, pickSandboxCommand),
  );
}
