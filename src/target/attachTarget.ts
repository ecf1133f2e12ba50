// From a resolved launch configuration to a connected DelveClient: reach the target (this
// machine or SSH), find the sandbox, start Delve attached to it, connect. And back again:
// detach so that the sandbox keeps running and nothing we started stays on the target.
import type { ResolvedAttachConfig } from '../config/attachConfig';
import { DelveClient } from '../delve/delveClient';
import type { RpcTraceEvent } from '../delve/jsonRpcConnection';
import { chooseSandbox } from '../transport/chooseSandbox';
import { judgeProcess } from '../transport/processCheck';
import type { CommandRunner } from '../transport/commandRunner';
import { DelveLaunchError, describeLaunchExit, launchDelve, parseDlvVersion, type LaunchedDelve } from './delveLauncher';
import { ensureNotStopped } from './localDelve';
import type { SandboxProcess } from '../transport/sandboxProcess';
import { SshRunner } from '../transport/sshTransport';
import { listSandboxes, openRunner } from '../transport/sandboxListing';
import { ProcFiles } from '../transport/procFiles';
import type { VcpuThread } from '../linux/vcpuThreads';
import { checkBinaryAndDelve, versionAtLeast, type BinaryCheck } from './strippedBinary';
import { STRIPPED_MIN_DELVE, strippedMessage } from './strippedMessage';

export interface AttachedTarget {
  readonly client: DelveClient;
  /** e.g. `1.20.2`, from Delve's GetVersion. */
  readonly delveVersion: string;
  readonly pid: number;
  readonly sandbox: SandboxProcess | undefined;
  /** "this machine" or the SSH destination. */
  readonly where: string;
  readonly runner: CommandRunner;
  /** What the sandbox's binary is (read before Delve started); undefined when its headers were unreadable. */
  readonly binary: BinaryCheck['binary'];
  /** The vCPU threads seen in KVM_RUN just before Delve attached (with their vCPU ids). */
  readonly vcpusBeforeAttach: readonly VcpuThread[];
  /** The sandbox's /proc files, read as Delve's user (root when "sudo" is set). */
  readonly procFiles: ProcFiles;
  readonly delve: LaunchedDelve;
  /** Called once if Delve or the link goes away while we did not ask for it. */
  onLost(listener: (message: string) => void): void;
  /** Removes breakpoints, detaches (target keeps running), stops Delve, closes the connection. */
  disconnect(): Promise<void>;
}

export interface AttachOptions {
  trace?: (e: RpcTraceEvent) => void;
  log?: (line: string) => void;
  rpcTimeoutMs?: number;
}

// Leaves the target not stopped: a tracer that vanished can leave it in group-stop.
const CONTINUE_IF_STOPPED =
  'for i in 1 2 3 4 5; do s=$(sed -n "s/^State:[[:space:]]*\\(.\\).*/\\1/p" "/proc/$1/status" 2>/dev/null); case "$s" in T|t) kill -CONT "$1" 2>/dev/null; sleep 0.1;; *) exit 0;; esac; done';

async function continueIfStopped(runner: CommandRunner, pid: number, sudo: boolean): Promise<void> {
  await runner.run(['sh', '-c', CONTINUE_IF_STOPPED, 'sh', String(pid)], { timeoutMs: 10_000, asRoot: sudo }).catch(() => undefined);
}

export async function attachTarget(config: ResolvedAttachConfig, options: AttachOptions = {}): Promise<AttachedTarget> {
  const log = options.log ?? (() => undefined);
  const runner = await openRunner(config);
  if (runner instanceof SshRunner) log(`SSH connection to ${runner.where} (control socket ${runner.controlPath})`);
  let delve: LaunchedDelve | undefined;
  let delveVersion: string;
  let binary: BinaryCheck['binary'];
  let vcpus: VcpuThread[];
  const procFiles = new ProcFiles(runner, config.sudo);
  try {
    const found = config.processId === undefined ? await listSandboxes(runner) : [];
    const chosen = chooseSandbox(found, { processId: config.processId, sandbox: config.sandbox }, runner.where);
    const sandbox = 'containerId' in chosen ? chosen : undefined;
    if (sandbox && config.processId === undefined && config.sandbox === undefined && found.length > 1) {
      log(`chosen for you: the only KVM sandbox of the ${found.length} on ${runner.where} (pid ${sandbox.pid}, container ${sandbox.containerId})`);
    }
    log(`attaching to pid ${chosen.pid}${sandbox ? ` (container ${sandbox.containerId})` : ''} on ${runner.where}`);
    // Read while the sandbox still runs: a vCPU stopped by Delve is out of KVM_RUN (the signal
    // interrupts it), so only now do its threads show which vCPU each one runs.
    let check: BinaryCheck;
    [check, vcpus] = await Promise.all([
      checkBinaryAndDelve(runner, chosen.pid, config.dlvPath, config.sudo),
      procFiles.vcpuThreads(chosen.pid).catch(() => []),
    ]);
    binary = check.binary;
    if (binary)
      log(
        `the sandbox's binary: ${binary.path}${binary.stripped ? ' (stripped: no DWARF)' : ''}${binary.goVersion ? `, built with ${binary.goVersion}` : ''}; Delve ${check.delveVersion}`,
      );
    if (binary?.stripped && !versionAtLeast(check.delveVersion, STRIPPED_MIN_DELVE)) {
      const text = strippedMessage({
        binaryPath: binary.path,
        hasSymtab: binary.hasSymtab,
        delveVersion: check.delveVersion,
        dlvPath: config.dlvPath,
        where: runner.where,
      });
      throw new DelveLaunchError('stripped-binary', text, '');
    }
    delve = await launchDelve(runner, {
      pid: chosen.pid,
      dlvPath: config.dlvPath,
      dlvFlags: config.dlvFlags,
      sudo: config.sudo,
      directTcp: runner.isLocal && !config.sudo,
      judge: (facts) => judgeProcess(facts, runner.where),
      onWarning: (m) => log(`warning: ${m}`),
    });
    log(
      `Delve started (pid ${delve.dlvPid}), listening on ${delve.address.kind === 'tcp' ? `${delve.address.host}:${delve.address.port}` : `the unix socket ${delve.address.path}`} on ${runner.where}`,
    );
    const started = delve;
    let client: DelveClient;
    try {
      client = new DelveClient(await started.connect(), { timeoutMs: options.rpcTimeoutMs ?? 30_000, trace: options.trace });
      delveVersion = parseDlvVersion((await client.getVersion()).DelveVersion) ?? 'unknown';
    } catch (err) {
      // Delve prints its listening line before it attaches: a refused attach shows up here.
      for (let i = 0; i < 50 && !started.exited(); i++) await new Promise((r) => setTimeout(r, 100));
      if (started.exited()) throw describeLaunchExit(started.output(), chosen.pid, runner.where);
      throw err;
    }
    return connected({ runner, delve, client, pid: chosen.pid, sandbox, sudo: config.sudo, delveVersion, binary, procFiles, vcpus });
  } catch (err) {
    await delve?.stop().catch(() => undefined);
    await runner.close().catch(() => undefined);
    throw err;
  }
}

interface Connected {
  runner: CommandRunner;
  delve: LaunchedDelve;
  client: DelveClient;
  pid: number;
  sandbox: SandboxProcess | undefined;
  sudo: boolean;
  delveVersion: string;
  binary: BinaryCheck['binary'];
  procFiles: ProcFiles;
  vcpus: VcpuThread[];
}

function connected({ runner, delve, client, pid, sandbox, sudo, delveVersion, binary, procFiles, vcpus }: Connected): AttachedTarget {
  let disconnecting = false;
  let lostMessage: string | undefined;
  const lostListeners: Array<(message: string) => void> = [];

  const reportLost = async (): Promise<void> => {
    if (disconnecting || lostMessage !== undefined) return;
    // Give the supervisor a moment to tell us whether Delve exited or the link went away.
    for (let i = 0; i < 20 && !delve.exited(); i++) await new Promise((r) => setTimeout(r, 100));
    if (disconnecting) return;
    const exit = /bluepill-dlv-exit (\d+)/.exec(delve.output());
    const lastWords = delve
      .output()
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('bluepill-'))
      .slice(-2)
      .join(' | ');
    lostMessage = exit
      ? `Delve on ${runner.where} exited (status ${exit[1]}${lastWords ? `; it said: ${lastWords}` : ''}). The debug session is over; the sandbox was detached by the kernel and keeps running. Start a new session to attach again.`
      : runner.isLocal
        ? `The connection to Delve closed unexpectedly. The debug session is over; start a new one to attach again.`
        : `The SSH connection to ${runner.where} dropped. The debug session is over; Delve on the target detaches and exits when its SSH channel closes. Check the link and start a new session.`;
    // Tell the session first: cleaning up after a dropped link may wait for ssh's ConnectTimeout.
    for (const l of lostListeners.splice(0)) l(lostMessage);
    await delve.stop().catch(() => undefined);
    if (runner.isLocal) await ensureNotStopped(pid);
    else await continueIfStopped(runner, pid, sudo);
    await runner.close().catch(() => undefined);
  };
  client.onClose(() => void reportLost());
  delve.onExit(() => void reportLost());

  return {
    client,
    delveVersion,
    pid,
    sandbox,
    where: runner.where,
    runner,
    procFiles,
    binary,
    vcpusBeforeAttach: vcpus,
    delve,
    onLost: (listener) => {
      if (lostMessage !== undefined) listener(lostMessage);
      else lostListeners.push(listener);
    },
    disconnect: async () => {
      if (disconnecting) return;
      disconnecting = true;
      try {
        if (!client.rpc.closed) {
          const st = await client.state(true, { timeoutMs: 5_000 }).catch(() => undefined);
          if (st?.Running) await client.halt({ timeoutMs: 10_000 }).catch(() => undefined);
          for (const bp of await client.listBreakpoints(false, { timeoutMs: 10_000 }).catch(() => [])) {
            if (bp.id > 0) await client.clearBreakpoint(bp.id, { timeoutMs: 10_000 }).catch(() => undefined);
          }
          await client.detach(false, { timeoutMs: 15_000 }).catch(() => undefined);
        }
      } finally {
        client.close();
        await delve.stop().catch(() => undefined);
        if (runner.isLocal) await ensureNotStopped(pid);
        else await continueIfStopped(runner, pid, sudo);
        await runner.close().catch(() => undefined);
      }
    },
  };
}
