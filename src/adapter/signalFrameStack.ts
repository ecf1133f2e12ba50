// Call stacks through the bluepill signal frame. Delve's walk stops at the handler (or goes on
// with garbage past it), so for a thread inside the handler the frames below it are replaced by
// `<signal handler called>` and the interrupted frames the engine unwinds from the ucontext.
import type { DelveClient } from '../delve/delveClient';
import type { Stackframe } from '../delve/delveTypes';
import { SIGNAL_HANDLER_CALLED, unwindThroughSignalFrame } from '../bluepill/signalFrameUnwind';
import type { CodeReader } from '../bluepill/codeReader';
import type { Symbolizer } from '../bluepill/symbolizer';
import type { MachineContext } from '../bluepill/machineContext';

/**
 * A frame we made (not Delve's): it has no Delve frame number, so no locals or arguments; the
 * interrupted frame carries the registers the ucontext holds for it.
 */
export type MaybeSynthetic = Stackframe & {
  synthetic?: 'signal-handler-called' | 'interrupted' | 'caller';
  context?: MachineContext;
  ucontextAddress?: number;
};

const HANDLER = /(^|[./])(sighandler|bluepillHandler|bluepillGuestExit|bluepillArchExit)(\.abi0)?$/;

export function isHandlerFrame(f: Stackframe): boolean {
  return HANDLER.test(f.function?.name ?? '');
}

function synthetic(kind: NonNullable<MaybeSynthetic['synthetic']>, pc: number, name: string): MaybeSynthetic {
  return {
    pc,
    file: '',
    line: 0,
    function: { name, value: pc, type: 0, goType: 0, optimized: false },
    Locals: null,
    Arguments: null,
    FrameOffset: 0,
    FramePointerOffset: 0,
    Err: '',
    synthetic: kind,
  };
}

/**
 * Delve's frames up to the last handler frame, then the signal frame and the interrupted frames;
 * Delve's frames unchanged when the thread is not in the bluepill handler.
 */
export async function withSignalFrame(
  delve: DelveClient,
  threadId: number,
  frames: Stackframe[],
  code: CodeReader,
  symbolizer: Symbolizer,
): Promise<MaybeSynthetic[]> {
  let last = -1;
  frames.forEach((f, i) => {
    if (isHandlerFrame(f)) last = i;
  });
  if (last < 0) return frames;
  const unwound = await unwindThroughSignalFrame(delve, threadId, { code, symbolizer }).catch(() => undefined);
  if (!unwound) return frames;
  const out: MaybeSynthetic[] = frames.slice(0, last + 1);
  for (const f of unwound.frames) {
    const name = f.kind === 'signal-handler-called' ? SIGNAL_HANDLER_CALLED : f.name;
    const frame = synthetic(f.kind, f.pc, name);
    if (f.kind === 'interrupted') {
      frame.context = unwound.context;
      frame.ucontextAddress = unwound.frame.ucontextAddress;
    }
    const loc = f.kind === 'signal-handler-called' ? undefined : (await delve.findLocation(`*0x${f.pc.toString(16)}`).catch(() => []))[0];
    if (loc) {
      frame.file = loc.file;
      frame.line = loc.line;
    }
    out.push(frame);
  }
  return out;
}
