// Sandboxes on a remote machine: one POSIX sh script (no ps, whose columns truncate) prints
// raw /proc fields; argv is hex-encoded so NULs, newlines and spaces survive. Parsed here.
import { sandboxFromArgv, uptimeFromStat, type SandboxProcess } from './sandboxProcess';

/** Prints "U <uptime> <CLK_TCK>" then "P <pid> <hex of stat> <hex of cmdline>" per candidate. */
export const LIST_SANDBOXES_SCRIPT = [
  'export LC_ALL=C',
  't=$(getconf CLK_TCK 2>/dev/null) || t=100',
  'read -r u _ < /proc/uptime',
  'echo "U $u ${t:-100}"',
  'for f in $(grep -l -e runsc /proc/[0-9]*/cmdline 2>/dev/null); do',
  '  d=${f%/cmdline}',
  '  c=$(od -An -v -tx1 "$f" 2>/dev/null | tr -d " \\n") || continue',
  '  s=$(od -An -v -tx1 "$d/stat" 2>/dev/null | tr -d " \\n") || continue',
  '  [ -n "$c" ] && [ -n "$s" ] && echo "P ${d#/proc/} $s $c"',
  'done',
  'exit 0',
].join('\n');

export function parseSandboxListing(output: string): SandboxProcess[] {
  let uptime = 0;
  let ticks = 100;
  const out: SandboxProcess[] = [];
  for (const line of output.split('\n')) {
    const f = line.trim().split(' ');
    if (f[0] === 'U' && f.length >= 3) {
      uptime = Number(f[1]);
      ticks = Number(f[2]) || 100;
    } else if (f[0] === 'P' && f.length === 4 && /^[0-9]+$/.test(f[1]) && /^[0-9a-f]*$/.test(f[2] + f[3])) {
      const stat = Buffer.from(f[2], 'hex').toString('utf8');
      const cmdline = Buffer.from(f[3], 'hex').toString('utf8').split('\0');
      if (cmdline[cmdline.length - 1] === '') cmdline.pop();
      const s = sandboxFromArgv(Number(f[1]), cmdline, uptimeFromStat(stat, uptime, ticks));
      if (s) out.push(s);
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}
