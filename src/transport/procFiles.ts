// The target's /proc files, read here with Node or through the runner (`cat`, as root when Delve
// runs as root), so every reader above this one works the same on this machine and over SSH.
import { readFile } from 'node:fs/promises';
import { mapsReaderFrom, type MapsReader } from '../linux/processMaps';
import { parsePendingMasks, PENDING_SIGNALS_SCRIPT } from '../linux/pendingSignals';
import { parseVcpuThreads, VCPU_THREADS_SCRIPT, type VcpuThread } from '../linux/vcpuThreads';
import type { CommandRunner } from './commandRunner';

export class ProcFiles {
  private maps: MapsReader | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly asRoot: boolean,
  ) {}

  /** One file's text; a failure names the file and the machine. */
  async read(path: string): Promise<string> {
    if (this.runner.isLocal && !this.asRoot) return readFile(path, 'utf8');
    const r = await this.runner.run(['cat', path], { timeoutMs: 15_000, asRoot: this.asRoot });
    if (r.code !== 0) throw new Error(`reading ${path} on ${this.runner.where} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** `/proc/PID/maps`, parsed and kept per pid (mappings of code do not move). */
  mapsReader(): MapsReader {
    return (this.maps ??= mapsReaderFrom((path) => this.read(path)));
  }

  /** The pending-signal masks of the process and of each of its threads (status files are world-readable). */
  async pendingSignals(pid: number): Promise<bigint[]> {
    const r = await this.runner.run(['sh', '-c', PENDING_SIGNALS_SCRIPT, 'sh', String(pid)], { timeoutMs: 10_000 });
    return parsePendingMasks(r.stdout);
  }

  /** The threads blocked in KVM_RUN, with their vCPU ids (one command; root's view when Delve runs as root). */
  async vcpuThreads(pid: number): Promise<VcpuThread[]> {
    const r = await this.runner.run(['sh', '-c', VCPU_THREADS_SCRIPT, 'sh', String(pid)], { timeoutMs: 10_000, asRoot: this.asRoot });
    return parseVcpuThreads(r.stdout);
  }
}
