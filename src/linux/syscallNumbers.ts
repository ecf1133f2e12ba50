// Linux syscall numbers and names per architecture (amd64 has its own table; arm64 uses the
// generic one): the calls a Go program such as runsc's sentry makes, named by the bluepill engine
// (the trampoline's rt_sigreturn, a syscall stepped over or waited for).

export const AMD64_SYSCALL_NAMES: Readonly<Record<number, string>> = {
  0: 'read', 1: 'write', 2: 'open', 3: 'close', 4: 'stat', 5: 'fstat', 7: 'poll', 8: 'lseek',
  9: 'mmap', 10: 'mprotect', 11: 'munmap', 12: 'brk', 13: 'rt_sigaction', 14: 'rt_sigprocmask',
  15: 'rt_sigreturn', 16: 'ioctl', 17: 'pread64', 18: 'pwrite64', 19: 'readv', 20: 'writev',
  23: 'select', 24: 'sched_yield', 25: 'mremap', 28: 'madvise', 32: 'dup', 33: 'dup2', 34: 'pause',
  35: 'nanosleep', 39: 'getpid', 41: 'socket', 42: 'connect', 43: 'accept', 44: 'sendto',
  45: 'recvfrom', 46: 'sendmsg', 47: 'recvmsg', 56: 'clone', 57: 'fork', 59: 'execve', 60: 'exit',
  61: 'wait4', 62: 'kill', 72: 'fcntl', 128: 'rt_sigtimedwait', 130: 'rt_sigsuspend',
  131: 'sigaltstack', 157: 'prctl', 158: 'arch_prctl', 186: 'gettid', 200: 'tkill', 202: 'futex',
  219: 'restart_syscall', 228: 'clock_gettime', 230: 'clock_nanosleep', 231: 'exit_group',
  232: 'epoll_wait', 233: 'epoll_ctl', 234: 'tgkill', 247: 'waitid', 257: 'openat', 270: 'pselect6',
  271: 'ppoll', 281: 'epoll_pwait', 288: 'accept4', 290: 'eventfd2', 291: 'epoll_create1', 293: 'pipe2',
  299: 'recvmmsg', 307: 'sendmmsg', 317: 'seccomp', 318: 'getrandom', 324: 'membarrier',
  435: 'clone3', 441: 'epoll_pwait2',
};

export const ARM64_SYSCALL_NAMES: Readonly<Record<number, string>> = {
  17: 'getcwd', 19: 'eventfd2', 20: 'epoll_create1', 21: 'epoll_ctl', 22: 'epoll_pwait', 23: 'dup',
  24: 'dup3', 25: 'fcntl', 29: 'ioctl', 56: 'openat', 57: 'close', 59: 'pipe2', 62: 'lseek', 63: 'read',
  64: 'write', 65: 'readv', 66: 'writev', 67: 'pread64', 68: 'pwrite64', 72: 'pselect6', 73: 'ppoll',
  79: 'newfstatat', 80: 'fstat', 93: 'exit', 94: 'exit_group', 95: 'waitid', 98: 'futex',
  101: 'nanosleep', 113: 'clock_gettime', 115: 'clock_nanosleep', 124: 'sched_yield', 128: 'restart_syscall',
  129: 'kill', 130: 'tkill', 131: 'tgkill', 132: 'sigaltstack', 133: 'rt_sigsuspend', 134: 'rt_sigaction',
  135: 'rt_sigprocmask', 137: 'rt_sigtimedwait', 139: 'rt_sigreturn', 167: 'prctl', 172: 'getpid',
  178: 'gettid', 198: 'socket', 202: 'accept', 203: 'connect', 206: 'sendto', 207: 'recvfrom',
  211: 'sendmsg', 212: 'recvmsg', 214: 'brk', 215: 'munmap', 216: 'mremap', 220: 'clone', 221: 'execve',
  222: 'mmap', 226: 'mprotect', 233: 'madvise', 242: 'accept4', 243: 'recvmmsg', 260: 'wait4',
  269: 'sendmmsg', 277: 'seccomp', 278: 'getrandom', 283: 'membarrier', 435: 'clone3', 441: 'epoll_pwait2',
};
