// Progress of a long wait (a step over a blocking syscall, a guest that does not exit), per
// thread. A client that supports DAP progress (VS Code) gets progressStart/Update/End with
// `cancellable: true` and shows its own notification with Cancel; the `cancel` request for that
// progress then ends the wait exactly like Pause. A client without it gets our own event
// (src/protocol/bluepillMessages.ts, ProgressEvent) with the same text.
import { Event, ProgressEndEvent, ProgressStartEvent, ProgressUpdateEvent } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ProgressEvent, type ProgressEventBody } from '../protocol/bluepillMessages';

export class ProgressReporter {
  private readonly active = new Map<number, string>();
  private sequence = 0;

  constructor(
    private readonly send: (event: DebugProtocol.Event) => void,
    private readonly dapProgress: boolean,
  ) {}

  /** The wait on `threadId` says `message` (the first message starts the progress). */
  update(threadId: number, message: string): void {
    if (!this.dapProgress) {
      this.send(new Event(ProgressEvent.event, { threadId, message, done: false } satisfies ProgressEventBody) as DebugProtocol.Event);
      return;
    }
    const id = this.active.get(threadId);
    if (id !== undefined) {
      this.send(new ProgressUpdateEvent(id, message));
      return;
    }
    const started = `bluepill-${threadId}-${++this.sequence}`;
    this.active.set(threadId, started);
    const ev = new ProgressStartEvent(started, `Bluepill: thread ${threadId}`, message) as DebugProtocol.ProgressStartEvent;
    ev.body.cancellable = true;
    this.send(ev);
  }

  /** The action on `threadId` ended (whatever its outcome). */
  done(threadId: number): void {
    if (!this.dapProgress) {
      this.send(new Event(ProgressEvent.event, { threadId, message: '', done: true } satisfies ProgressEventBody) as DebugProtocol.Event);
      return;
    }
    const id = this.active.get(threadId);
    if (id === undefined) return;
    this.active.delete(threadId);
    this.send(new ProgressEndEvent(id));
  }

  /** The thread whose progress has this id, if it is still running. */
  threadOf(progressId: string): number | undefined {
    for (const [threadId, id] of this.active) if (id === progressId) return threadId;
    return undefined;
  }
}
