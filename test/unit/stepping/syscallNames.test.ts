import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AMD64_SYSCALL_NAMES, ARM64_SYSCALL_NAMES, isBlockingSyscall, isRtSigreturn, RESTART_ERRNOS, syscallName, syscallNumber } from '../../../src/stepping/syscallNames';
import { objdumpLines } from './objdumpFixture';

test('the calls a sandbox makes have their Linux numbers on both architectures', () => {
  const amd64: Record<string, number> = {
    read: 0, write: 1, mmap: 9, munmap: 11, rt_sigreturn: 15, ioctl: 16, sched_yield: 24, nanosleep: 35, getpid: 39,
    futex: 202, clock_gettime: 228, clock_nanosleep: 230, epoll_wait: 232, ppoll: 271, epoll_pwait: 281,
  };
  const arm64: Record<string, number> = {
    epoll_pwait: 22, ioctl: 29, read: 63, write: 64, ppoll: 73, futex: 98, nanosleep: 101, clock_gettime: 113,
    clock_nanosleep: 115, sched_yield: 124, rt_sigreturn: 139, getpid: 172, munmap: 215, mmap: 222,
  };
  for (const [name, nr] of Object.entries(amd64)) assert.equal(syscallName('amd64', nr), name);
  for (const [name, nr] of Object.entries(arm64)) assert.equal(syscallName('arm64', nr), name);
  assert.equal(syscallNumber('arm64', 'futex'), 98);
  assert.equal(syscallNumber('amd64', 'epoll_wait'), 232);
  assert.equal(syscallNumber('arm64', 'epoll_wait'), undefined, 'arm64 has only epoll_pwait');
  assert.equal(syscallName('amd64', 9999), 'syscall 9999');
});

test('no name appears twice in a table', () => {
  for (const table of [AMD64_SYSCALL_NAMES, ARM64_SYSCALL_NAMES]) {
    const names = Object.values(table);
    assert.equal(new Set(names).size, names.length);
  }
});

test('the numbers the simulator and the Go runtime load before SYSCALL/SVC name the expected calls', () => {
  for (const arch of ['amd64', 'arm64'] as const) {
    const lines = objdumpLines(arch);
    const seen = new Set<string>();
    for (let i = 1; i < lines.length; i++) {
      if (!/^(SYSCALL|SVC)/.test(lines[i].text)) continue;
      const m = /^MOV[DQL] \$(0x[0-9a-f]+|\d+), (AX|R8)$/.exec(lines[i - 1].text);
      if (m) seen.add(syscallName(arch, Number(m[1])));
    }
    for (const want of ['mmap', 'futex', 'rt_sigreturn', 'clock_gettime']) {
      if (arch === 'arm64' && want === 'rt_sigreturn') continue; // arm64 returns through the vDSO
      assert.ok(seen.has(want), `${arch}: ${want} in ${[...seen].join(', ')}`);
    }
  }
});

test('rt_sigreturn is recognised by number; blocking calls are flagged; restart codes are the kernel\'s', () => {
  assert.equal(isRtSigreturn('amd64', 15), true);
  assert.equal(isRtSigreturn('arm64', 139), true);
  assert.equal(isRtSigreturn('arm64', 15), false);
  for (const n of ['futex', 'epoll_wait', 'epoll_pwait', 'nanosleep', 'clock_nanosleep', 'ppoll', 'read']) assert.equal(isBlockingSyscall(n), true, n);
  for (const n of ['getpid', 'mmap', 'clock_gettime', 'sched_yield']) assert.equal(isBlockingSyscall(n), false, n);
  assert.equal(RESTART_ERRNOS.get(512), 'ERESTARTSYS');
  assert.equal(RESTART_ERRNOS.get(516), 'ERESTART_RESTARTBLOCK');
  assert.equal(RESTART_ERRNOS.has(4), false, 'EINTR is a finished call');
});
