// Recorded Delve conversations: a recorder that wraps a live client (e2e) and a replay that
// serves the same answers for the same calls (unit tests run the engine on a real Delve run).
import type { BluepillDelve } from '../../src/bluepill/bluepillDelve';
import { DelveCancelledError, DelveError, DelveTimeoutError } from '../../src/delve/delveErrors';

export type Method = keyof BluepillDelve;

export interface RecordedCall {
  method: Method;
  /** Arguments with AbortSignals and generated breakpoint names removed. */
  args: unknown[];
  result?: unknown;
  error?: { kind: 'delve' | 'timeout' | 'cancelled' | 'other'; method: string; message: string; timeoutMs?: number };
  /** A continue that returned because we sent halt (the replay holds it until halt is called). */
  endedByHalt?: boolean;
}

export interface Transcript {
  name: string;
  note: string;
  toolchain: string;
  arch: string;
  delveVersion?: string;
  threadId: number;
  /** What the run produced (checked by the unit test). */
  expected: Record<string, unknown>;
  calls: RecordedCall[];
}

const METHODS: Method[] = [
  'listRegisters',
  'examineMemory',
  'disassemble',
  'findLocation',
  'createBreakpoint',
  'clearBreakpoint',
  'continue',
  'halt',
  'switchThread',
  'stepInstruction',
  'state',
];

function toJson(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { $buffer: v.toString('base64') };
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x instanceof AbortSignal || typeof x === 'function') continue;
      out[k] = toJson(x);
    }
    return out;
  }
  return v;
}

function fromJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$buffer === 'string') return Buffer.from(o.$buffer, 'base64');
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = fromJson(x);
    return out;
  }
  return v;
}

export function normalizeArgs(method: Method, args: unknown[]): unknown[] {
  const json = toJson(args) as unknown[];
  while (json.length && json[json.length - 1] === undefined) json.pop();
  if (method === 'createBreakpoint' && json[0] && typeof json[0] === 'object') delete (json[0] as Record<string, unknown>).name;
  return json;
}

function errorOf(e: unknown): RecordedCall['error'] {
  if (e instanceof DelveTimeoutError) return { kind: 'timeout', method: e.method, message: e.message, timeoutMs: e.timeoutMs };
  if (e instanceof DelveCancelledError) return { kind: 'cancelled', method: e.method, message: e.message };
  if (e instanceof DelveError) return { kind: 'delve', method: e.method, message: e.delveMessage };
  return { kind: 'other', method: '', message: e instanceof Error ? e.message : String(e) };
}

function rebuildError(e: NonNullable<RecordedCall['error']>): Error {
  if (e.kind === 'timeout') return new DelveTimeoutError(e.method, e.timeoutMs ?? 0);
  if (e.kind === 'cancelled') return new DelveCancelledError(e.method);
  if (e.kind === 'delve') return new DelveError(e.method, e.message);
  return new Error(e.message);
}

/** Wraps a live client; every call through it is appended to `calls`. Also counts round trips. */
export function recordingDelve(inner: BluepillDelve, calls: RecordedCall[] = []): BluepillDelve & { calls: RecordedCall[] } {
  let inFlightContinue: RecordedCall | undefined;
  const wrapper: Record<string, unknown> = { calls };
  for (const method of METHODS) {
    wrapper[method] = async (...args: unknown[]): Promise<unknown> => {
      const entry: RecordedCall = { method, args: normalizeArgs(method, args) };
      calls.push(entry);
      if (method === 'continue') inFlightContinue = entry;
      if (method === 'halt' && inFlightContinue) inFlightContinue.endedByHalt = true;
      try {
        const fn = (inner[method] as (...a: unknown[]) => Promise<unknown>).bind(inner);
        const result = await fn(...args);
        entry.result = toJson(result);
        return result;
      } catch (e) {
        entry.error = errorOf(e);
        throw e;
      } finally {
        if (method === 'continue' && inFlightContinue === entry) inFlightContinue = undefined;
      }
    };
  }
  return wrapper as unknown as BluepillDelve & { calls: RecordedCall[] };
}

export class TranscriptMismatch extends Error {}

/**
 * Serves recorded answers: each call takes the first unused recording with the same method and
 * arguments. A continue that ended by halt waits until halt is called.
 */
export function replayDelve(t: Pick<Transcript, 'calls'>): BluepillDelve & { unused(): RecordedCall[]; served: number } {
  const used = new Array<boolean>(t.calls.length).fill(false);
  let releaseHalt: (() => void) | undefined;
  let haltCalled = false;
  const api: Record<string, unknown> = {
    served: 0,
    unused: () => t.calls.filter((_, i) => !used[i]),
  };
  for (const method of METHODS) {
    api[method] = async (...args: unknown[]): Promise<unknown> => {
      const key = JSON.stringify(normalizeArgs(method, args));
      const i = t.calls.findIndex((c, k) => !used[k] && c.method === method && JSON.stringify(c.args) === key);
      if (i < 0) throw new TranscriptMismatch(`no recorded ${method}(${key}) left`);
      used[i] = true;
      (api.served as number)++;
      const c = t.calls[i];
      if (method === 'halt') {
        haltCalled = true;
        releaseHalt?.();
      }
      if (c.endedByHalt && !haltCalled) await new Promise<void>((r) => (releaseHalt = r));
      if (c.error) throw rebuildError(c.error);
      return fromJson(c.result);
    };
  }
  return api as unknown as BluepillDelve & { unused(): RecordedCall[]; served: number };
}
