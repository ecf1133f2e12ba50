// Runs `go tool objdump -s '^<name>$' <binary>` for one function: argv only (never a shell),
// the name quoted like Go's regexp.QuoteMeta so `main.(*T).m` matches itself and nothing else.

import { execFile } from 'node:child_process';

/** Go's regexp.QuoteMeta: escapes every character that is special in RE2 syntax. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

export function goObjdumpArgs(binary: string, functionName: string): string[] {
  return ['tool', 'objdump', '-s', `^${quoteMeta(functionName)}$`, binary];
}

export class GoNotFoundError extends Error {
  constructor(goPath: string) {
    super(`${goPath} was not found: install Go or set bluepill.goExecutable`);
    this.name = 'GoNotFoundError';
  }
}

export interface GoObjdumpOptions {
  /** The go executable (default `go` on PATH). */
  goPath?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The listing of one function; throws GoNotFoundError when go cannot be run. */
export function goObjdumpFunction(binary: string, functionName: string, options: GoObjdumpOptions = {}): Promise<string> {
  const goPath = options.goPath ?? 'go';
  return new Promise((resolve, reject) => {
    execFile(
      goPath,
      goObjdumpArgs(binary, functionName),
      { maxBuffer: 256 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000, signal: options.signal, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err !== null) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(new GoNotFoundError(goPath));
          else reject(new Error(`go tool objdump failed: ${stderr.trim() || err.message}`));
          return;
        }
        if (stdout.trim() === '') reject(new Error(`go tool objdump found no function named ${functionName} in ${binary}`));
        else resolve(stdout);
      },
    );
  });
}
