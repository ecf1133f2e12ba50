// The kernel's internal "restart me" codes. A thread stopped (by ptrace) in the middle of an
// interrupted syscall shows one of them, negated, in its return register (amd64 RAX, arm64 X0),
// with its PC right after the syscall instruction; on resume the kernel moves the PC back and
// makes the call again. (A call that already returned, even with -EINTR, is over.)
export const RESTART_ERRNOS: ReadonlyMap<number, string> = new Map([
  [512, 'ERESTARTSYS'],
  [513, 'ERESTARTNOINTR'],
  [514, 'ERESTARTNOHAND'],
  [516, 'ERESTART_RESTARTBLOCK'],
]);

/** The restart code's name when a 64-bit return register holds one, e.g. `ERESTARTSYS` for -512. */
export function restartCodeIn(returnRegister: bigint): string | undefined {
  const negated = BigInt.asIntN(64, returnRegister);
  return negated < 0n ? RESTART_ERRNOS.get(Number(-negated)) : undefined;
}
