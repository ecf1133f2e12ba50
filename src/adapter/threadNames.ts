// DAP threads are OS threads (LWPs): "<tid> <function> [g <goid>]", and for a KVM vCPU thread
// "vCPU <id> · tid <tid> · <function>", so vCPUs stand out in the Call Stack.
import type { Thread } from '../delve/delveTypes';
import { hex } from './addresses';

/** A thread known to run a vCPU; `id` is KVM's (and gVisor's) vCPU id when known. */
export interface VcpuLabel {
  id: number | undefined;
}

/** The last path element of a Go function name: `kvm.bluepill` for `gvisor.dev/…/kvm.bluepill`. */
function shortName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

export function threadName(t: Thread, vcpu?: VcpuLabel): string {
  const fn = t.function?.name ?? hex(t.pc);
  if (vcpu) return `vCPU${vcpu.id === undefined ? '' : ` ${vcpu.id}`} · tid ${t.id} · ${shortName(fn)}`;
  return `${t.id} ${fn}${t.goroutineID ? ` [g ${t.goroutineID}]` : ''}`;
}

/** A stable order for the UI: the main thread (pid) first, then the vCPUs by id, then the rest by tid. */
export function sortThreads(threads: readonly Thread[], pid: number, vcpus: ReadonlyMap<number, VcpuLabel> = new Map()): Thread[] {
  const rank = (t: Thread): number => (t.id === pid ? 0 : vcpus.has(t.id) ? 1 : 2);
  const vcpuId = (t: Thread): number => vcpus.get(t.id)?.id ?? Number.MAX_SAFE_INTEGER;
  return [...threads].sort((a, b) => rank(a) - rank(b) || (rank(a) === 1 ? vcpuId(a) - vcpuId(b) : 0) || a.id - b.id);
}

/** Functions only a vCPU thread runs: the bluepill path and the sentry's ring0 entry and exit. */
const VCPU_FUNCTIONS =
  /(^|[./])(bluepill|sighandler|bluepillHandler|bluepillGuestExit|bluepillArchExit|bluepillArchEnter|guestExitSyscall)(\.abi0)?$|\/ring0\./;

export function runsVcpuCode(t: Thread): boolean {
  return VCPU_FUNCTIONS.test(t.function?.name ?? '');
}
