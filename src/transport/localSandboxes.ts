// Sandboxes on this machine, straight from /proc.
import { readdir, readFile } from 'node:fs/promises';
import { sandboxFromArgv, argvFromCmdline, uptimeFromStat, type SandboxProcess } from './sandboxProcess';

/** Linux's USER_HZ: 100 on every architecture we target (arm64, amd64). */
const CLOCK_TICKS = 100;

export async function listLocalSandboxes(procRoot = '/proc'): Promise<SandboxProcess[]> {
  const uptime = Number((await readFile(`${procRoot}/uptime`, 'utf8')).split(/\s+/)[0]);
  const out: SandboxProcess[] = [];
  for (const name of await readdir(procRoot)) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const argv = argvFromCmdline(await readFile(`${procRoot}/${name}/cmdline`));
      if (!argv.length) continue;
      const stat = await readFile(`${procRoot}/${name}/stat`, 'utf8');
      const s = sandboxFromArgv(Number(name), argv, uptimeFromStat(stat, uptime, CLOCK_TICKS));
      if (s) out.push(s);
    } catch {
      // the process went away while we looked
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}
