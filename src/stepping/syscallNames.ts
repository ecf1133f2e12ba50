// Syscall names for the stepping guards (tables in src/linux/syscallNumbers.ts), and which calls
// can block for as long as another thread pleases.
import type { StepArch } from './stepArch';
import { AMD64_SYSCALL_NAMES, ARM64_SYSCALL_NAMES } from '../linux/syscallNumbers';

export { AMD64_SYSCALL_NAMES, ARM64_SYSCALL_NAMES };

/** Calls that may wait for another thread, a timer or a device: single-stepped, they never return. */
const BLOCKING = new Set([
  'read', 'readv', 'pread64', 'recvfrom', 'recvmsg', 'recvmmsg', 'accept', 'accept4', 'connect',
  'poll', 'ppoll', 'select', 'pselect6', 'pause', 'nanosleep', 'clock_nanosleep', 'futex', 'epoll_wait',
  'epoll_pwait', 'epoll_pwait2', 'wait4', 'waitid', 'rt_sigtimedwait', 'rt_sigsuspend', 'ioctl',
  'restart_syscall', 'write', 'writev', 'sendmsg', 'sendto', 'sendmmsg', 'openat', 'open',
]);

export function syscallTable(arch: StepArch): Readonly<Record<number, string>> {
  return arch === 'amd64' ? AMD64_SYSCALL_NAMES : ARM64_SYSCALL_NAMES;
}

/** `futex`, or `syscall 999` for a number the table does not know. */
export function syscallName(arch: StepArch, nr: number): string {
  return syscallTable(arch)[nr] ?? `syscall ${nr}`;
}

export function syscallNumber(arch: StepArch, name: string): number | undefined {
  for (const [n, v] of Object.entries(syscallTable(arch))) if (v === name) return Number(n);
  return undefined;
}

export function isRtSigreturn(arch: StepArch, nr: number): boolean {
  return nr === (arch === 'amd64' ? 15 : 139);
}

export function isBlockingSyscall(name: string): boolean {
  return BLOCKING.has(name);
}

/**
 * The kernel's internal "restart me" codes. A thread stopped (by ptrace) in the middle of an
 * interrupted syscall shows one of them in its return register, with its PC right after the syscall
 * instruction; on resume the kernel moves the PC back and makes the call again.
 */
export const RESTART_ERRNOS: ReadonlyMap<number, string> = new Map([
  [512, 'ERESTARTSYS'],
  [513, 'ERESTARTNOINTR'],
  [514, 'ERESTARTNOHAND'],
  [516, 'ERESTART_RESTARTBLOCK'],
]);
