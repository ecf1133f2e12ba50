// The names the extension shares with package.json: the debug type, command, view and context-key
// ids. Each is written here once; test/unit/extension/contributions.test.ts holds package.json to them.

export const DEBUG_TYPE = 'bluepill';

export const COMMANDS = {
  pickSandbox: 'bluepill.pickSandbox',
  stepOverBluepill: 'bluepill.stepOverBluepill',
  exportHops: 'bluepill.exportHops',
  copyValue: 'bluepill.copyValue',
  openDisassemblyAt: 'bluepill.openDisassemblyAt',
  openDisassembly: 'bluepill.openDisassembly',
  showHop: 'bluepill.showHop',
  openFunction: 'bluepill.openFunction',
  breakAtAddress: 'bluepill.breakAtAddress',
} as const;

export const VIEWS = {
  hostContext: 'bluepill.hostContext',
  guestContext: 'bluepill.guestContext',
  hops: 'bluepill.hops',
} as const;

export const CONTEXT_KEYS = {
  /** Set while the stopped thread is where "Step over bluepill" applies. */
  stoppedInBluepill: 'bluepill.stoppedInBluepill',
} as const;
