// The arm64 simulator started inside the emulated Pi as `runsc-sandbox … boot <id>`, outliving
// the SSH session that starts it; its status file and output are read back over SSH.
import { buildSimulator } from './simulator';
import { shellQuote } from '../../src/transport/shellQuote';
import { vmOutput, vmWaitForMatch, type PiVm } from './piVm';

export type HazardName = 'seccomp' | 'futex' | 'vdso';

export interface SimulatorInVm {
  pid: number;
  /** The local arm64 binary (for `go tool objdump`). */
  binary: string;
  /** The vCPU threads, in vCPU order. */
  vcpuTids: number[];
  hazardTids: Partial<Record<HazardName, number>>;
  statusFile: string;
  outFile: string;
  errFile: string;
  status(): Promise<Record<string, unknown>>;
  /** Its symbol table (from the status file), as bigints. */
  symbols(): Promise<Record<string, bigint>>;
  stderr(): Promise<string>;
  /** kill -9 (the simulator runs as pi); no error if it is gone already. */
  kill(): Promise<void>;
}

export interface SimulatorInVmOptions {
  /** Names the container id and the files in /tmp; one per simulator running at once. */
  name: string;
  hazards?: HazardName[];
  /** More `--sim-*` flags. */
  simFlags?: string[];
}

const REMOTE_BINARY = '/home/pi/runsc-sandbox';

export async function startSimulatorInVm(vm: PiVm, opts: SimulatorInVmOptions): Promise<SimulatorInVm> {
  const binary = await buildSimulator({ arch: 'arm64' });
  // Copied once per VM: a running copy cannot be overwritten (ETXTBSY), and it is the same file.
  const present = await vm.ssh(['test', '-x', REMOTE_BINARY]);
  if (present.code !== 0) await vm.copyIn(binary, REMOTE_BINARY);
  const statusFile = `/tmp/${opts.name}-status.json`;
  const outFile = `/tmp/${opts.name}.out`;
  const errFile = `/tmp/${opts.name}.err`;
  const hazards = opts.hazards ?? [];
  const args = [
    '--root=/run/runsc',
    '--platform=kvm',
    '--debug-log=/tmp/runsc/',
    '--sim-vcpus=2',
    ...(hazards.length ? [`--sim-hazards=${hazards.join(',')}`] : []),
    ...(opts.simFlags ?? []),
    `--sim-status-file=${statusFile}`,
    'boot',
    '--bundle=/tmp/bundle',
    '--controller-fd=3',
    '--mounts-fd=4',
    '--start-sync-fd=5',
    opts.name,
  ];
  const launch = `exec -a runsc-sandbox ${REMOTE_BINARY} ${args.map(shellQuote).join(' ')}`;
  // setsid + redirected stdio: the simulator outlives this ssh session.
  await vmOutput(vm, [
    'sh',
    '-c',
    `rm -f ${shellQuote(statusFile)}; setsid bash -c ${shellQuote(launch)} </dev/null >${shellQuote(outFile)} 2>${shellQuote(errFile)} &`,
  ]);
  const last = hazards[hazards.length - 1];
  // The whole ready line: the hazard tids come in map order.
  const ready = await vmWaitForMatch(vm, outFile, new RegExp(`^bluepill-sim ready pid=(\\d+) .*${last ? `\\b${last}-tid=\\d+` : ''}.*$`, 'm'), 60_000);
  const hazardTids: Partial<Record<HazardName, number>> = {};
  for (const h of hazards) {
    const m = new RegExp(`\\b${h}-tid=(\\d+)`).exec(ready[0]);
    if (!m) throw new Error(`no ${h}-tid in the ready line: ${ready[0]}`);
    hazardTids[h] = Number(m[1]);
  }
  const pid = Number(ready[1]);
  const tids = /\btids=([\d,]+)/.exec(ready[0]);
  if (!tids) throw new Error(`no vCPU tids in the ready line: ${ready[0]}`);
  const vcpuTids = tids[1].split(',').map(Number);
  const status = async (): Promise<Record<string, unknown>> => JSON.parse(await vmOutput(vm, ['cat', statusFile])) as Record<string, unknown>;
  return {
    pid,
    binary,
    vcpuTids,
    hazardTids,
    statusFile,
    outFile,
    errFile,
    status,
    async symbols() {
      const out: Record<string, bigint> = {};
      for (const [k, v] of Object.entries(((await status()).symbols ?? {}) as Record<string, string>)) out[k] = BigInt(v);
      return out;
    },
    async stderr() {
      return (await vm.ssh(['cat', errFile])).stdout;
    },
    async kill() {
      await vm.ssh(['sh', '-c', `kill -9 ${pid} 2>/dev/null; true`]).catch(() => undefined);
    },
  };
}
