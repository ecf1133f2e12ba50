import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runsVcpuCode, sortThreads, threadName } from '../../../src/adapter/threadNames';
import type { Thread } from '../../../src/delve/delveTypes';

const th = (id: number, fn: string, goroutineID = 0): Thread =>
  ({ id, pc: 0x4c2960, function: { name: fn, value: 0x4c2960, type: 0, goType: 0, optimized: false }, goroutineID }) as Thread;

test('vCPU threads are labelled with their vCPU id and the short function name; others keep tid, function, goroutine', () => {
  assert.equal(threadName(th(4989, 'gvisor.dev/gvisor/pkg/sentry/platform/kvm.bluepill'), { id: 2 }), 'vCPU 2 · tid 4989 · kvm.bluepill');
  assert.equal(threadName(th(4990, 'gvisor.dev/gvisor/pkg/sentry/platform/kvm.sighandler'), { id: undefined }), 'vCPU · tid 4990 · kvm.sighandler');
  assert.equal(threadName(th(4979, 'runtime.futex', 7)), '4979 runtime.futex [g 7]');
});

test('the main thread first, then the vCPUs by id, then the rest by tid', () => {
  const threads = [th(30, 'a'), th(12, 'b'), th(10, 'main'), th(20, 'c'), th(25, 'd')];
  const vcpus = new Map([
    [25, { id: 0 }],
    [20, { id: 3 }],
    [30, { id: undefined }],
  ]);
  assert.deepEqual(
    sortThreads(threads, 10, vcpus).map((t) => t.id),
    [10, 25, 20, 30, 12],
  );
  assert.deepEqual(
    sortThreads(threads, 10).map((t) => t.id),
    [10, 12, 20, 25, 30],
  );
});

test('the bluepill path and ring0 are vCPU-only code; the runtime is not', () => {
  for (const fn of [
    'gvisor.dev/gvisor/pkg/sentry/platform/kvm.bluepill',
    'bluepill.sim/pkg/sentry/platform/kvm.sighandler.abi0',
    'gvisor.dev/gvisor/pkg/ring0.kernelExitToEl0',
    'x/kvm.bluepillHandler',
  ]) {
    assert.equal(runsVcpuCode(th(1, fn)), true, fn);
  }
  for (const fn of ['runtime.futex', 'gvisor.dev/gvisor/pkg/sentry/kernel.(*Task).run', 'main.bluepillish']) assert.equal(runsVcpuCode(th(1, fn)), false, fn);
});
