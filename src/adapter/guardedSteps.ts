// Every step the DAP session issues goes through the guards that keep a sandbox alive (issue 8):
// instruction steps through the trampoline-aware, syscall/vDSO-safe step of the bluepill engine,
// line steps through its line step (a thread parked in a syscall right after attach first
// finishes it on a breakpoint; the vDSO is left by its return address).
import type { DelveClient } from '../delve/delveClient';
import type { DebuggerState } from '../delve/delveTypes';
import { profileOfRegisters } from '../bluepill/archOf';
import type { ArchProfile } from '../bluepill/archProfile';
import { CodeReader } from '../bluepill/codeReader';
import type { DelveSymbolizer } from '../bluepill/delveSymbolizer';
import { SignalFrameMemory, stepInstructionAware } from '../bluepill/instructionStep';
import { runToBreakpoint } from '../bluepill/safeStep';
import { safeLineStep, type LineStepKind } from '../bluepill/lineStep';
import type { TaskResult } from './execution';

export interface GuardedStepContext {
  code: CodeReader;
  symbolizer?: DelveSymbolizer;
  onProgress: (threadId: number, message: string) => void;
}

export class GuardedSteps {
  private readonly memory = new SignalFrameMemory();
  private arch: ArchProfile | undefined;

  constructor(private readonly ctx: GuardedStepContext) {}

  private async archOf(delve: DelveClient, threadId: number): Promise<ArchProfile> {
    if (!this.arch) this.arch = profileOfRegisters(await delve.listRegisters(threadId));
    return this.arch;
  }

  /** One instruction; with `overCalls`, a call runs to its return on a breakpoint after it. */
  async instruction(delve: DelveClient, threadId: number, overCalls: boolean, signal: AbortSignal): Promise<TaskResult> {
    const arch = await this.archOf(delve, threadId);
    if (overCalls) {
      await delve.switchThread(threadId);
      const pc = (await delve.state(true)).currentThread?.pc;
      const insn = pc === undefined ? undefined : await this.ctx.code.instructionAt(pc, arch.maxInstructionLength);
      if (insn && arch.isCall(insn)) {
        const after = insn.pc + insn.bytes.length;
        const r = await runToBreakpoint(delve, threadId, after, {
          signal,
          waitingFor: `the call at 0x${insn.pc.toString(16)} to return on thread ${threadId}`,
          onProgress: (m) => this.ctx.onProgress(threadId, m),
        });
        return { state: await stateOnThread(delve, threadId), reason: 'step', description: r.outcome === 'arrived' ? `stepped over ${insn.text} with a breakpoint` : r.message };
      }
    }
    const r = await stepInstructionAware(delve, threadId, {
      arch,
      code: this.ctx.code,
      symbolizer: this.ctx.symbolizer,
      memory: this.memory,
      signal,
      onProgress: (m) => this.ctx.onProgress(threadId, m),
    });
    return { state: await stateOnThread(delve, threadId), reason: 'step', description: r.description };
  }

  async line(delve: DelveClient, threadId: number, kind: LineStepKind, signal: AbortSignal): Promise<TaskResult> {
    const r = await safeLineStep(delve, threadId, kind, {
      arch: await this.archOf(delve, threadId),
      code: this.ctx.code,
      symbolizer: this.ctx.symbolizer,
      signal,
      onProgress: (m) => this.ctx.onProgress(threadId, m),
    });
    return { state: r.state, reason: 'step', description: r.description || undefined };
  }
}

/**
 * Delve's state with the stepped thread current: other threads may hit a step's temporary
 * breakpoint in the same stop, and the stopped event names Delve's current thread.
 */
async function stateOnThread(delve: DelveClient, threadId: number): Promise<DebuggerState> {
  const st = await delve.state(true);
  if (st.exited || st.currentThread?.id === threadId || !st.Threads?.some((t) => t.id === threadId)) return st;
  return delve.switchThread(threadId);
}
