// Delve's API server speaks Go's net/rpc/jsonrpc codec: JSON-RPC 1.0 objects, one per line,
// no Content-Length framing. vscode-jsonrpc only does JSON-RPC 2.0 with headers, and json-rpc2
// (what vscode-go's legacy adapter used) is unmaintained, so this small codec is written here.
import type { Duplex } from 'node:stream';
import { DelveCancelledError, DelveConnectionClosedError, DelveError, DelveTimeoutError } from './delveErrors';

export interface CallOptions {
  /** Milliseconds to wait for the answer; 0 waits forever (only for calls that can be cancelled). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RpcTraceEvent {
  direction: 'send' | 'receive';
  method: string;
  id: number;
  body: string;
}

interface Pending {
  method: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  cleanup(): void;
}

export class JsonRpcConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffered = '';
  private closedReason: string | undefined;
  private readonly closeListeners: Array<(reason: string) => void> = [];

  constructor(
    private readonly stream: Duplex,
    private readonly defaultTimeoutMs = 30_000,
    private readonly trace?: (e: RpcTraceEvent) => void,
  ) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.onData(chunk));
    stream.on('error', (err: Error) => this.close(err.message));
    stream.on('close', () => this.close('the stream closed'));
    stream.on('end', () => this.close('the other side ended the connection'));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closedReason !== undefined) listener(this.closedReason);
    else this.closeListeners.push(listener);
  }

  /** Calls `RPCServer.<method>` with one argument object and resolves with its result. */
  call<T>(method: string, params: object, options: CallOptions = {}): Promise<T> {
    if (this.closedReason !== undefined) {
      return Promise.reject(new DelveConnectionClosedError(method, this.closedReason));
    }
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        this.pending.get(id)?.cleanup();
        reject(new DelveCancelledError(method));
      };
      const entry: Pending = {
        method,
        resolve: (v) => resolve(v as T),
        reject,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          this.pending.delete(id);
        },
      };
      if (options.signal?.aborted) {
        reject(new DelveCancelledError(method));
        return;
      }
      this.pending.set(id, entry);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          entry.cleanup();
          reject(new DelveTimeoutError(method, timeoutMs));
        }, timeoutMs);
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const body = JSON.stringify({ method: `RPCServer.${method}`, params: [params], id });
      this.trace?.({ direction: 'send', method, id, body });
      this.stream.write(body + '\n');
    });
  }

  /** Rejects every pending call and ends the stream. */
  close(reason = 'closed by the client'): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const [, p] of [...this.pending]) {
      p.cleanup();
      p.reject(new DelveConnectionClosedError(p.method, reason));
    }
    this.stream.destroy();
    for (const l of this.closeListeners.splice(0)) l(reason);
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: { id?: unknown; result?: unknown; error?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.close(`Delve sent something that is not JSON: ${line.slice(0, 80)}`);
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    this.trace?.({ direction: 'receive', method: p?.method ?? '?', id: msg.id, body: line });
    if (!p) return; // answer to a call that timed out or was cancelled
    p.cleanup();
    if (msg.error !== null && msg.error !== undefined) {
      p.reject(new DelveError(p.method, typeof msg.error === 'string' ? msg.error : JSON.stringify(msg.error)));
    } else {
      p.resolve(msg.result);
    }
  }
}
