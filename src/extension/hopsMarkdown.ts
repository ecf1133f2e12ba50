// Markdown export of the hops view, in the shape of a hand-written hop list.
import type { WireHop } from '../protocol/bluepillMessages';

export function hopsMarkdown(hops: readonly WireHop[]): string {
  const lines = ['# Bluepill hops', ''];
  if (!hops.length) return [...lines, '(no hop recorded yet: use "Step over bluepill")', ''].join('\n');
  lines.push('```go-objdump');
  const pad = (s: string): string => s.padEnd(48) + ' ';
  let thread = -1;
  for (const h of hops) {
    if (h.threadId !== thread) {
      lines.push(`// thread ${h.threadId}`);
      thread = h.threadId;
    }
    if (h.fault) lines.push(`${pad(`${h.fault.text}${h.fault.instruction ? ` ${h.fault.instruction}` : ''}`)}// faults: ${h.signal}`);
    if (h.handler) lines.push(`${pad(`${h.handler.text}`)}// handler, ucontext ${h.ucontext}${h.host ? `, with PC: ${h.host.pc}` : ''}`);
    lines.push(`${pad('    guest exit')}// guest ran ${h.guestMs.toFixed(1)} ms, ucontext PC now ${h.guest.pc}`);
    lines.push(`${pad(h.trampoline.text)}// trampoline: rt_sigreturn`);
    lines.push(`${pad(`${h.landing.text}${h.landing.instruction ? ` ${h.landing.instruction}` : ''}`)}// landed`);
    lines.push('');
  }
  lines.push('```', '');
  return lines.join('\n');
}
