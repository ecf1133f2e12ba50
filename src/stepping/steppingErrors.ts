// Failures of a safe step the caller must tell the user about.

/** A single step did not finish in time: the thread is stuck in the instruction at `pc`. */
export class ThreadStuckError extends Error {
  constructor(
    readonly threadId: number,
    readonly pc: number,
    readonly where: string,
    readonly timeoutMs: number,
    /** Delve answered again after the halt; when false, the Delve session cannot be used any more. */
    readonly delveResponsive: boolean,
  ) {
    super(
      `thread ${threadId} stuck in the instruction at PC 0x${pc.toString(16)} (${where}): the single step did not finish within ${timeoutMs} ms` +
        (delveResponsive
          ? '; the target was halted'
          : '; Delve does not answer even after a halt (a single step blocked in the kernel cannot be interrupted): the debug session has to be restarted'),
    );
    this.name = 'ThreadStuckError';
  }
}
