// Real gVisor in the emulated Pi: `runsc --platform=kvm do sh -c 'while :; do /bin/true; done'`
// as root, on the guest's /dev/kvm (scripts/pi-vm start --kvm). Each round trip is real: an EL1
// MRS → SIGILL → kvm.sighandler → KVM_RUN → the vDSO's rt_sigreturn → the guest exit PC. The
// workload's newest pid, read with `runsc ps`, tells that the sandbox still makes progress.
import { debuggerProcesses, healthProblems, highestPid, parseProcStatus, sandboxIdentity, type ProcessHealth } from './runsc';
import { shellQuote } from '../../src/transport/shellQuote';
import { vmOutput, type PiVm } from './piVm';
import { waitFor } from './waitFor';

export interface RunscInVm {
  /** The `runsc-sandbox … boot` process. */
  pid: number;
  containerId: string;
  /** runsc's state directory (`runsc do` makes its own). */
  root: string;
  /** The local binary that runs in the VM (for `go tool nm`/objdump). */
  binary: string;
  /** The `runsc do` process, parent of the sandbox and the gofer. */
  doPid: number;
  /** The sandbox's threads and, per thread, its current syscall (root's view of /proc/PID/task/TID/syscall). */
  threads(): Promise<Map<number, string>>;
  /** Threads sitting in ioctl(KVM_RUN): vCPUs whose sentry runs in guest mode right now. */
  vcpusInGuest(): Promise<number[]>;
  health(): Promise<ProcessHealth>;
  /** The workload's newest pid inside the sandbox. */
  newestPid(): Promise<number>;
  /** Waits until the workload's newest pid passes `than` (the sandbox still runs its workload). */
  waitForProgress(than: number, timeoutMs: number): Promise<number>;
  /** Throws unless the sandbox is alive, not stopped, untraced, has no SIGTRAP pending, no Delve or bridge is left, and its workload progresses. */
  assertHealthy(what: string): Promise<void>;
  stop(): Promise<void>;
}

export interface RunscInVmOptions {
  /** A name for its files in /tmp. */
  name: string;
  /** Default: the loop of /bin/true. */
  workload?: string[];
  /** How long the workload may take to start (default 180 s: a nested guest under TCG is slow). */
  readyTimeoutMs?: number;
}

/** arm64 ioctl (29) with request KVM_RUN (0xae80), as /proc/PID/task/TID/syscall shows it. */
const IN_KVM_RUN = /^29 0x[0-9a-f]+ 0xae80\b/;

export async function startRunscInVm(vm: PiVm, localBinary: string, opts: RunscInVmOptions): Promise<RunscInVm> {
  const remote = `/home/pi/${localBinary.includes('debian') ? 'runsc-debian' : 'runsc'}`;
  // Copied once per VM and binary (a running copy cannot be overwritten: ETXTBSY).
  if ((await vm.ssh(['test', '-x', remote])).code !== 0) await vm.copyIn(localBinary, remote);
  const dir = `/tmp/${opts.name}`;
  const workload = opts.workload ?? ['sh', '-c', 'while :; do /bin/true; done'];
  const run = ['exec', remote, '--platform=kvm', '--network=none', `--debug-log=${dir}/log/`, 'do', ...workload].map(shellQuote).join(' ');
  // setsid + redirected stdio: the sandbox outlives this ssh session; the pid file names `runsc do`.
  await vmOutput(vm, [
    'sudo',
    '-n',
    'sh',
    '-c',
    `rm -rf ${dir} && mkdir -p ${dir}/log && setsid sh -c ${shellQuote(`echo $$ > ${dir}/do.pid; ${run}`)} </dev/null >${dir}/do.out 2>&1 &`,
  ]);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 180_000);
  let doPid = 0;
  let listing = '';
  const child = await waitFor(
    'the sandbox process of runsc in the VM',
    async () => {
      const r = await vm.ssh([
        'sudo',
        '-n',
        'sh',
        '-c',
        `d=$(cat ${dir}/do.pid 2>/dev/null) || exit 0; echo "do $d"; for c in $(pgrep -P "$d"); do printf 'child %s ' "$c"; tr '\\0' ' ' < /proc/$c/cmdline; echo; done`,
      ]);
      listing = r.stdout;
      doPid = Number(/^do (\d+)$/m.exec(r.stdout)?.[1] ?? 0);
      return /^child (\d+) (runsc-sandbox .*)$/m.exec(r.stdout) ?? undefined;
    },
    { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 1000 },
  ).catch(async (err: Error) => {
    const out = await vm.ssh(['sudo', '-n', 'cat', `${dir}/do.out`]);
    throw new Error(`runsc in the VM: ${err.message}\n${listing}${out.stdout}${out.stderr}`, { cause: err });
  });
  const pid = Number(child[1]);
  const argv = child[2].trim().split(' ');
  const { root, containerId } = sandboxIdentity(argv);
  const root_ = (cmd: string[]): Promise<string> => vmOutput(vm, ['sudo', '-n', ...cmd]);

  const threads = async (): Promise<Map<number, string>> => {
    const out = await root_(['sh', '-c', `cd /proc/${pid}/task && for t in *; do printf '%s ' "$t"; cat "$t/syscall" 2>/dev/null || echo gone; done`]);
    const map = new Map<number, string>();
    for (const line of out.split('\n')) {
      const m = /^(\d+) (.*)$/.exec(line);
      if (m) map.set(Number(m[1]), m[2]);
    }
    return map;
  };
  const health = async (): Promise<ProcessHealth> => {
    const r = await vm.ssh(['cat', `/proc/${pid}/status`]);
    return r.code === 0 ? parseProcStatus(r.stdout) : { state: undefined, tracerPid: 0, sigPnd: 0n, shdPnd: 0n };
  };
  // `runsc ps` asks the sandbox itself: a wedged sentry never answers, so it gets a deadline.
  const newestPid = async (): Promise<number> => {
    const r = await vm.ssh(['sudo', '-n', 'timeout', '30', remote, `--root=${root}`, 'ps', containerId], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`runsc ps ${containerId}: exit ${r.code}${r.code === 124 ? ' (no answer from the sandbox in 30 s)' : ''}\n${r.stderr}`);
    return highestPid(r.stdout);
  };
  const waitForProgress = async (than: number, timeoutMs: number): Promise<number> => {
    let now = 0;
    return waitFor(
      () => `a new pid in sandbox ${containerId}: the workload made no progress (newest pid ${now}, before ${than})`,
      async () => {
        now = await newestPid().catch(() => 0);
        return now > than ? now : undefined;
      },
      { timeoutMs, intervalMs: 1000 },
    );
  };

  const sandbox: RunscInVm = {
    pid,
    containerId,
    root,
    binary: localBinary,
    doPid,
    threads,
    health,
    newestPid,
    waitForProgress,
    async vcpusInGuest() {
      return [...(await threads())].filter(([, s]) => IN_KVM_RUN.test(s)).map(([tid]) => tid);
    },
    async assertHealthy(what: string) {
      const problems = healthProblems(await health());
      const left = debuggerProcesses(await vmOutput(vm, ['ps', '-eo', 'pid=,args=']));
      if (left.length) problems.push(`left running: ${left.join('; ')}`);
      if (problems.length) throw new Error(`${what}: ${problems.join('; ')}`);
      // Progress: a new process in the sandbox after this point.
      await waitForProgress(await newestPid(), 120_000).catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
    },
    async stop() {
      await vm.ssh(['sudo', '-n', 'sh', '-c', `kill -9 ${pid} ${doPid} $(pgrep -P ${doPid}) 2>/dev/null; rm -rf ${dir}; true`]).catch(() => undefined);
    },
  };
  // Ready: the workload runs (it starts only after the sentry booted through KVM).
  await waitForProgress(0, Math.max(10_000, deadline - Date.now()));
  return sandbox;
}
