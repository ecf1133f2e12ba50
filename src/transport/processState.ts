// Reads a Linux process's state from /proc, so we can prove (and repair) that a target we
// touched is not left stopped.
import { readFile } from 'node:fs/promises';

/** The State letter of /proc/PID/status (R, S, D, T, t, Z...), or undefined when the process is gone. */
export async function processStateLetter(pid: number): Promise<string | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^State:\s+(\S)/m.exec(status);
    return m?.[1];
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
