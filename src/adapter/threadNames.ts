// DAP threads are OS threads (LWPs): "<tid> <function> [g <goid>]".
import type { Thread } from '../delve/delveTypes';
import { hex } from './addresses';

export function threadName(t: Thread): string {
  const fn = t.function?.name ?? hex(t.pc);
  return `${t.id} ${fn}${t.goroutineID ? ` [g ${t.goroutineID}]` : ''}`;
}

/** Delve lists threads in map order; the UI wants a stable order: the main thread (pid) first, then by tid. */
export function sortThreads(threads: readonly Thread[], pid: number): Thread[] {
  return [...threads].sort((a, b) => (a.id === pid ? -1 : b.id === pid ? 1 : a.id - b.id));
}
