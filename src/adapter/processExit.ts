// Delve's word that the debugged process is gone: "Process 3606 has exited with status 3"
// (Delve's pkg/proc ErrProcessExited), which any call may answer once the sandbox exited.
import { errorText } from './errorText';

/** The exit status when `err` says the process exited, else undefined. */
export function processExitStatus(err: unknown): number | undefined {
  const m = /Process \d+ has exited with status (-?\d+)/.exec(errorText(err));
  return m ? Number(m[1]) : undefined;
}
