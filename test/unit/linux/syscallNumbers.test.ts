import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AMD64_SYSCALL_NAMES, ARM64_SYSCALL_NAMES } from '../../../src/linux/syscallNumbers';
import { RESTART_ERRNOS, restartCodeIn } from '../../../src/linux/syscallRestart';
import { objdumpLines } from '../../support/objdumpFixture';

const TABLES = { amd64: AMD64_SYSCALL_NAMES, arm64: ARM64_SYSCALL_NAMES };

test('the calls a sandbox makes have their Linux numbers on both architectures', () => {
  const amd64: Record<string, number> = {
    read: 0,
    write: 1,
    mmap: 9,
    munmap: 11,
    rt_sigreturn: 15,
    ioctl: 16,
    sched_yield: 24,
    nanosleep: 35,
    getpid: 39,
    futex: 202,
    clock_gettime: 228,
    clock_nanosleep: 230,
    epoll_wait: 232,
    ppoll: 271,
    epoll_pwait: 281,
  };
  const arm64: Record<string, number> = {
    epoll_pwait: 22,
    ioctl: 29,
    read: 63,
    write: 64,
    ppoll: 73,
    futex: 98,
    nanosleep: 101,
    clock_gettime: 113,
    clock_nanosleep: 115,
    sched_yield: 124,
    rt_sigreturn: 139,
    getpid: 172,
    munmap: 215,
    mmap: 222,
  };
  for (const [name, nr] of Object.entries(amd64)) assert.equal(AMD64_SYSCALL_NAMES[nr], name);
  for (const [name, nr] of Object.entries(arm64)) assert.equal(ARM64_SYSCALL_NAMES[nr], name);
  assert.ok(!Object.values(ARM64_SYSCALL_NAMES).includes('epoll_wait'), 'arm64 has only epoll_pwait');
});

test('no name appears twice in a table', () => {
  for (const table of Object.values(TABLES)) {
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
      if (m) seen.add(TABLES[arch][Number(m[1])] ?? `syscall ${m[1]}`);
    }
    for (const want of ['mmap', 'futex', 'rt_sigreturn', 'clock_gettime']) {
      if (arch === 'arm64' && want === 'rt_sigreturn') continue; // arm64 returns through the vDSO
      assert.ok(seen.has(want), `${arch}: ${want} in ${[...seen].join(', ')}`);
    }
  }
});

test("the restart codes are the kernel's, read from a 64-bit return register", () => {
  assert.equal(RESTART_ERRNOS.get(512), 'ERESTARTSYS');
  assert.equal(RESTART_ERRNOS.get(516), 'ERESTART_RESTARTBLOCK');
  assert.equal(restartCodeIn(BigInt.asUintN(64, -512n)), 'ERESTARTSYS');
  assert.equal(restartCodeIn(BigInt.asUintN(64, -513n)), 'ERESTARTNOINTR');
  assert.equal(restartCodeIn(BigInt.asUintN(64, -4n)), undefined, 'EINTR is a finished call');
  assert.equal(restartCodeIn(512n), undefined, 'a positive result is not a restart code');
});
