// The part of the Delve client safe stepping uses: narrow, so a recorder or a fake can stand in.
import type { DelveClient } from '../delve/delveClient';

export type SteppingDelve = Pick<
  DelveClient,
  | 'listThreads'
  | 'listRegisters'
  | 'disassemble'
  | 'examineMemory'
  | 'createBreakpoint'
  | 'clearBreakpoint'
  | 'listBreakpoints'
  | 'continue'
  | 'command'
  | 'halt'
  | 'switchThread'
  | 'stepInstruction'
  | 'state'
>;
