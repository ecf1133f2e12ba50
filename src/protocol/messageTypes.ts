// Typed names for custom messages: each request or event is one object that carries its name and,
// for the compiler only, the types of what it sends and answers (as rust-analyzer's lsp_ext.ts
// does with the LSP library's RequestType). Plain data: the adapter, the extension and the
// language server all import it.

/** A custom DAP request: `command`, its arguments `A` and its response body `R`. */
export interface DapRequest<A, R> {
  readonly command: string;
  /** Type carriers; never set. */
  readonly types?: { args: A; body: R };
}

/** A custom DAP event: `event` and its body `B`. */
export interface DapEvent<B> {
  readonly event: string;
  readonly types?: { body: B };
}

/** A custom LSP request: `method`, its params `P` and result `R`. */
export interface LspRequest<P, R> {
  readonly method: string;
  readonly types?: { params: P; result: R };
}

export function dapRequest<A, R>(command: string): DapRequest<A, R> {
  return { command };
}

export function dapEvent<B>(event: string): DapEvent<B> {
  return { event };
}

export function lspRequest<P, R>(method: string): LspRequest<P, R> {
  return { method };
}
