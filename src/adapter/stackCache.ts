// Call stacks of OS threads, fetched from Delve once per stop and kept until the next one, with
// the frames below a bluepill signal frame unwound by the engine (./signalFrameStack.ts).
import type { DelveClient } from '../delve/delveClient';
import type { Thread } from '../delve/delveTypes';
import type { CodeReader } from '../bluepill/codeReader';
import type { Symbolizer } from '../bluepill/symbolizer';
import { withSignalFrame, type MaybeSynthetic } from './signalFrameStack';

export interface ThreadStack {
  frames: MaybeSynthetic[];
  /** True when the stack has no more frames than `frames` (asking deeper gives nothing new). */
  complete: boolean;
}

export class StackCache {
  private readonly stacks = new Map<number, ThreadStack>();

  constructor(
    private readonly client: DelveClient,
    private readonly code: CodeReader,
    private readonly symbolizer: Symbolizer,
    private readonly threads: () => readonly Thread[],
  ) {}

  /** Forgets every stack (the target ran). */
  clear(): void {
    this.stacks.clear();
  }

  /** A frame fetched since the last stop, if any. */
  cachedFrame(threadId: number, index: number): MaybeSynthetic | undefined {
    return this.stacks.get(threadId)?.frames[index];
  }

  /** Frames of an OS thread, at least `depth` deep when the stack has them. */
  async get(threadId: number, depth: number): Promise<ThreadStack> {
    const cached = this.stacks.get(threadId);
    if (cached && (cached.frames.length >= depth || cached.complete)) return cached;
    const thread = this.threads().find((t) => t.id === threadId);
    let frames;
    if (thread && thread.goroutineID > 0) frames = await this.client.stacktrace(thread.goroutineID, depth);
    else {
      // A thread without a goroutine (a vCPU in the signal handler) is walked from its registers.
      await this.client.switchThread(threadId);
      frames = await this.client.stacktrace(-1, depth);
    }
    const shallow = frames.length <= depth;
    const unwound: MaybeSynthetic[] = await withSignalFrame(this.client, threadId, frames, this.code, this.symbolizer);
    const stack = { frames: unwound, complete: shallow || unwound.some((f) => f.synthetic) };
    this.stacks.set(threadId, stack);
    return stack;
  }
}
