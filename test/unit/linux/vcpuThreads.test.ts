import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVcpuThreads } from '../../../src/linux/vcpuThreads';

test('threads in ioctl(KVM_RUN) are vCPUs, named by the fd they run (real KVM and the stand-in)', () => {
  const text = [
    'T 4979 202 0x4ab5a8 0x80 0x0 0x0 0x0 0x0 0x7ffd 0x46e3a3', // futex
    'T 4989 16 0x9 0xae80 0x0 0x0 0x0 0x0 0xc00005fe58 0x4c2e7b', // amd64 ioctl(9, KVM_RUN)
    'T 4990 29 0xb 0xae80 0x0 0x0 0x0 0x0 0x4000 0x6d8e10', // arm64 ioctl(11, KVM_RUN)
    'T 4991 16 0x9 0x4020ae46 0x0 0x0 0x0 0x0 0x1 0x2', // another KVM ioctl on the same fd
    'T 4992 running',
    'T 4993 ',
    'F 9 anon_inode:kvm-vcpu:2',
    'F 11 /memfd:kvm-standin-vcpu:0 (deleted)',
    'F 12 anon_inode:kvm-vm',
  ].join('\n');
  assert.deepEqual(parseVcpuThreads(text), [
    { tid: 4989, vcpu: 2, inKvmRun: true },
    { tid: 4990, vcpu: 0, inKvmRun: true },
  ]);
  assert.deepEqual(parseVcpuThreads('T 7 16 0x5 0xae80 0x0\n'), [{ tid: 7, vcpu: undefined, inKvmRun: true }], 'an fd without a vCPU link');
  assert.deepEqual(parseVcpuThreads(''), []);
});
