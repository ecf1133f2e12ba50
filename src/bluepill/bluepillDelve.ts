// The part of the Delve client the bluepill engine uses: a narrow interface so the engine runs
// on a live DelveClient, on a recorder around one, or on a replayed transcript.
import type { DelveClient } from '../delve/delveClient';

export type BluepillDelve = Pick<
  DelveClient,
  | 'listRegisters'
  | 'examineMemory'
  | 'disassemble'
  | 'findLocation'
  | 'createBreakpoint'
  | 'clearBreakpoint'
  | 'continue'
  | 'halt'
  | 'switchThread'
  | 'stepInstruction'
  | 'state'
>;
