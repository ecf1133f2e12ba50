// The signals pending on a process and its threads, from /proc/PID/status (ShdPnd: the process's
// shared queue; SigPnd: one thread's) and /proc/PID/task/*/status. A SIGTRAP left pending by a
// second halt is what kills a sandbox after detach (src/bluepill/resumeGate.ts).

/** Every ShdPnd and SigPnd mask in the concatenated status files, as bit masks (bit n-1 = signal n). */
export function parsePendingMasks(statusText: string): bigint[] {
  const out: bigint[] = [];
  for (const m of statusText.matchAll(/^(?:ShdPnd|SigPnd):\s*([0-9a-f]+)\s*$/gm)) out.push(BigInt(`0x${m[1]}`));
  return out;
}

/** The shell command that prints the process's and its threads' status files (argv: sh -c SCRIPT sh PID). */
export const PENDING_SIGNALS_SCRIPT = 'cat "/proc/$1/status" "/proc/$1"/task/*/status 2>/dev/null; true';
