// The sandbox's binary, copied from the target once and cached by Go build ID, so the objdump
// language server can symbolize addresses (and stripped distribution builds work through their
// .gopclntab) without the user copying runsc by hand.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BUILD_ID_PREFIX_BYTES, goBuildIdFromPrefix } from '../symbols/goBuildIdPrefix';
import type { CommandRunner } from './commandRunner';
import { readBytes } from './readBytes';

export interface FetchedBinary {
  /** Local path of the copy (or of the binary itself on this machine). */
  path: string;
  buildId: string | undefined;
  /** True when no transfer was needed. */
  cached: boolean;
  bytes: number;
}

export function binaryCacheDir(): string {
  return join(process.env.BLUEPILL_CACHE ?? join(homedir(), '.cache', 'bluepill-debug'), 'binaries');
}

/** `/proc/PID/exe` of the target: the local file itself, or a cached copy of the remote one. */
export async function fetchSandboxBinary(runner: CommandRunner, pid: number, sudo: boolean): Promise<FetchedBinary> {
  const exe = `/proc/${pid}/exe`;
  if (runner.isLocal && !sudo) {
    const head = await readBytes(runner, ['head', '-c', String(BUILD_ID_PREFIX_BYTES), exe], false, BUILD_ID_PREFIX_BYTES);
    return { path: exe, buildId: goBuildIdFromPrefix(head), cached: true, bytes: 0 };
  }
  const head = await readBytes(runner, ['head', '-c', String(BUILD_ID_PREFIX_BYTES), exe], sudo, BUILD_ID_PREFIX_BYTES);
  const buildId = goBuildIdFromPrefix(head);
  const dir = binaryCacheDir();
  mkdirSync(dir, { recursive: true });
  const key = buildId ? createHash('sha256').update(buildId).digest('hex').slice(0, 32) : undefined;
  const target = key ? join(dir, `${key}.elf`) : undefined;
  if (target && existsSync(target)) return { path: target, buildId, cached: true, bytes: 0 };
  const data = await readBytes(runner, ['cat', exe], sudo);
  const path = target ?? join(dir, `${createHash('sha256').update(data).digest('hex').slice(0, 32)}.elf`);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
  return { path, buildId, cached: false, bytes: data.length };
}
