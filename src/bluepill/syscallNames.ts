// Linux syscall numbers of the calls a sandbox makes most, per architecture (amd64 has its own
// table; arm64 uses the generic one). Only names the product prints or tests.

export const AMD64_SYSCALLS: Readonly<Record<number, string>> = {
  0: 'read', 1: 'write', 3: 'close', 7: 'poll', 9: 'mmap', 10: 'mprotect', 11: 'munmap',
  13: 'rt_sigaction', 14: 'rt_sigprocmask', 15: 'rt_sigreturn', 16: 'ioctl', 17: 'pread64',
  18: 'pwrite64', 19: 'readv', 20: 'writev', 23: 'select', 24: 'sched_yield', 28: 'madvise',
  35: 'nanosleep', 39: 'getpid', 56: 'clone', 60: 'exit', 61: 'wait4', 62: 'kill', 72: 'fcntl',
  128: 'rt_sigtimedwait', 131: 'sigaltstack', 158: 'arch_prctl', 186: 'gettid', 202: 'futex',
  228: 'clock_gettime', 230: 'clock_nanosleep', 231: 'exit_group', 232: 'epoll_wait',
  233: 'epoll_ctl', 234: 'tgkill', 257: 'openat', 271: 'ppoll', 281: 'epoll_pwait',
  317: 'seccomp', 318: 'getrandom', 324: 'membarrier',
};

export const ARM64_SYSCALLS: Readonly<Record<number, string>> = {
  21: 'epoll_ctl', 22: 'epoll_pwait', 25: 'fcntl', 29: 'ioctl', 56: 'openat', 57: 'close',
  63: 'read', 64: 'write', 65: 'readv', 66: 'writev', 67: 'pread64', 68: 'pwrite64', 73: 'ppoll',
  93: 'exit', 94: 'exit_group', 98: 'futex', 101: 'nanosleep', 113: 'clock_gettime',
  115: 'clock_nanosleep', 124: 'sched_yield', 129: 'kill', 131: 'tgkill', 132: 'sigaltstack',
  134: 'rt_sigaction', 135: 'rt_sigprocmask', 137: 'rt_sigtimedwait', 139: 'rt_sigreturn',
  172: 'getpid', 178: 'gettid', 215: 'munmap', 220: 'clone', 222: 'mmap', 226: 'mprotect',
  233: 'madvise', 260: 'wait4', 277: 'seccomp', 278: 'getrandom', 283: 'membarrier',
};

export function syscallNumberOf(table: Readonly<Record<number, string>>, name: string): number | undefined {
  for (const [n, v] of Object.entries(table)) if (v === name) return Number(n);
  return undefined;
}
