// Every command that resumes the target goes through one gate: one resume at a time, and at most
// one halt per resume however many cancels arrive. Delve's halt sends SIGTRAP to the whole process
// (Delve, pkg/proc/native/proc_linux.go: requestManualStop); the first one is consumed by the stop
// it causes, a second one sent before that stop stays pending (ShdPnd) and, after detach, kills
// the sandbox with "SIGTRAP: trace trap" (docs/architecture.md, "Halting").
import type { DebuggerState } from '../delve/delveTypes';
import type { CallOptions } from '../delve/jsonRpcConnection';

export interface GateDelve {
  halt(options?: CallOptions): Promise<DebuggerState>;
}

interface InFlight {
  /** The halt sent for this resume, if any: later requests wait for it instead of sending another. */
  halt?: Promise<void>;
}

export class ResumeGate {
  private inflight: InFlight | undefined;
  /** Halts sent, for tests and the debug log. */
  haltsSent = 0;

  constructor(private readonly delve: GateDelve) {}

  /** A resume command is in flight. */
  get running(): boolean {
    return this.inflight !== undefined;
  }

  /**
   * Runs one resume command (continue, next, step, a single step…). Aborting `signal` while it
   * runs halts the target, once. Resolves with the command's state and whether a halt of ours
   * ended it.
   */
  async resume(command: () => Promise<DebuggerState>, signal?: AbortSignal): Promise<{ state: DebuggerState; halted: boolean }> {
    if (this.inflight) throw new Error('the target is already running');
    const mine: InFlight = {};
    this.inflight = mine;
    const onAbort = (): void => void this.halt().catch(() => undefined);
    signal?.addEventListener('abort', onAbort);
    try {
      if (signal?.aborted) onAbort();
      const state = await command();
      return { state, halted: mine.halt !== undefined };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // A halt still on its way is answered by Delve once the stop it causes is reported; wait
      // for it so that the next resume cannot be ended by it.
      await mine.halt?.catch(() => undefined);
      if (this.inflight === mine) this.inflight = undefined;
    }
  }

  /**
   * Halts the resume in flight; false when nothing runs (a halt sent to a stopped target would
   * stay pending). A second request waits for the first halt instead of sending its own.
   */
  async halt(options?: CallOptions): Promise<boolean> {
    const current = this.inflight;
    if (!current) return false;
    if (!current.halt) {
      this.haltsSent++;
      current.halt = (options ? this.delve.halt(options) : this.delve.halt()).then(() => undefined);
    }
    await current.halt;
    return true;
  }
}
