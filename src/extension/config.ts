// The extension's settings (package.json's "configuration"), typed and read here only. `vscode` is
// passed in (a type-only import) so the unit tests can hold package.json to these defaults.
import type * as vscode from 'vscode';

export const SETTINGS_SECTION = 'bluepill';

export interface BluepillSettings {
  /** Binaries and objdump dumps the language server loads for hovers. */
  symbolFiles: string[];
  /** The `go` used for `go tool objdump`. */
  goExecutable: string;
  /** Most hops one "Step over bluepill" follows. */
  maxHops: number;
}

/** The defaults package.json declares, by key under `bluepill.`. */
export const SETTING_DEFAULTS: BluepillSettings = { symbolFiles: [], goExecutable: 'go', maxHops: 8 };

export function readSettings(workspace: Pick<typeof vscode.workspace, 'getConfiguration'>): BluepillSettings {
  const c = workspace.getConfiguration(SETTINGS_SECTION);
  return {
    symbolFiles: c.get<string[]>('symbolFiles') ?? SETTING_DEFAULTS.symbolFiles,
    goExecutable: c.get<string>('goExecutable') || SETTING_DEFAULTS.goExecutable,
    maxHops: c.get<number>('maxHops', SETTING_DEFAULTS.maxHops),
  };
}
