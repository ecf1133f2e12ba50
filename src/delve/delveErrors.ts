// Typed failures of a Delve call, so callers can tell "Delve said no" from "Delve is gone".

/** Delve answered the call with an error; `message` is Delve's own text. */
export class DelveError extends Error {
  constructor(
    readonly method: string,
    readonly delveMessage: string,
  ) {
    super(`Delve ${method}: ${delveMessage}`);
    this.name = 'DelveError';
  }
}

/** No answer within the call's timeout. The call may still complete on Delve's side. */
export class DelveTimeoutError extends Error {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`Delve ${method} did not answer within ${timeoutMs} ms`);
    this.name = 'DelveTimeoutError';
  }
}

/** The connection closed (Delve exited, the link dropped) before the answer arrived. */
export class DelveConnectionClosedError extends Error {
  constructor(
    readonly method: string,
    readonly reason: string,
  ) {
    super(`Delve ${method}: connection closed (${reason})`);
    this.name = 'DelveConnectionClosedError';
  }
}

/** The caller cancelled the wait (for example the user pressed Pause). */
export class DelveCancelledError extends Error {
  constructor(readonly method: string) {
    super(`Delve ${method}: cancelled`);
    this.name = 'DelveCancelledError';
  }
}
