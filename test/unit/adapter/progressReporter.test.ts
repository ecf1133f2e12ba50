import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ProgressReporter } from '../../../src/adapter/progressReporter';
import { ProgressEvent } from '../../../src/protocol/bluepillMessages';

function recorder(): { events: DebugProtocol.Event[]; send: (e: DebugProtocol.Event) => void } {
  const events: DebugProtocol.Event[] = [];
  return { events, send: (e) => void events.push(e) };
}

test('with DAP progress: one cancellable start per wait, updates, one end; the id finds the thread', () => {
  const r = recorder();
  const p = new ProgressReporter(r.send, true);
  p.update(7, 'waiting for thread 7 to return from syscall futex (202): 1 s');
  p.update(7, 'waiting for thread 7 to return from syscall futex (202): 2 s');
  p.update(9, 'waiting for the guest to exit on thread 9: 1 s');
  const start = r.events[0] as DebugProtocol.ProgressStartEvent;
  assert.deepEqual(
    r.events.map((e) => e.event),
    ['progressStart', 'progressUpdate', 'progressStart'],
  );
  assert.equal(start.body.cancellable, true);
  assert.match(start.body.message ?? '', /1 s$/);
  assert.equal(p.threadOf(start.body.progressId), 7);
  p.done(7);
  p.done(7);
  assert.deepEqual(
    r.events.slice(3).map((e) => [e.event, (e.body as { progressId: string }).progressId]),
    [['progressEnd', start.body.progressId]],
    'one end, even when done twice',
  );
  assert.equal(p.threadOf(start.body.progressId), undefined, 'an ended progress is nobody’s');
  p.update(7, 'again');
  assert.notEqual((r.events[4] as DebugProtocol.ProgressStartEvent).body.progressId, start.body.progressId, 'a new wait has a new id');
});

test('without DAP progress: our own event, with done', () => {
  const r = recorder();
  const p = new ProgressReporter(r.send, false);
  p.update(7, 'waiting');
  p.done(7);
  assert.deepEqual(
    r.events.map((e) => [e.event, e.body]),
    [
      [ProgressEvent.event, { threadId: 7, message: 'waiting', done: false }],
      [ProgressEvent.event, { threadId: 7, message: '', done: true }],
    ],
  );
});
