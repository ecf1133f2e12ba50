// Which threads of a sandbox are KVM vCPUs, from /proc alone: a thread blocked in
// ioctl(fd, KVM_RUN) shows it in /proc/PID/task/TID/syscall, and the fd's link names the vCPU:
// `anon_inode:kvm-vcpu:N` on real KVM (Linux virt/kvm/kvm_main.c, create_vcpu_fd), and
// `/memfd:kvm-standin-vcpu:N` under the test suite's KVM stand-in. One command reads both.

/** ioctl's syscall number: 16 on amd64, 29 on arm64 (the kernel's syscall tables for x86_64 and asm-generic). */
const IOCTL = new Set([16, 29]);
/** _IO(KVMIO, 0x80) (include/uapi/linux/kvm.h). */
const KVM_RUN = 0xae80;

/** Prints `T TID <syscall file>` per thread, then `F FD <link>` per vCPU fd (argv: sh -c SCRIPT sh PID). */
export const VCPU_THREADS_SCRIPT =
  'cd "/proc/$1/task" 2>/dev/null || exit 0; for t in *; do printf "T %s " "$t"; cat "$t/syscall" 2>/dev/null || echo; done; ' +
  'for f in /proc/"$1"/fd/*; do l=$(readlink "$f" 2>/dev/null) || continue; case "$l" in *kvm-vcpu:*|*kvm-standin-vcpu:*) echo "F ${f##*/} $l";; esac; done; true';

export interface VcpuThread {
  tid: number;
  /** KVM's vCPU id (gVisor's vCPU id), from the fd the thread runs. */
  vcpu: number | undefined;
  /** Blocked in ioctl(KVM_RUN): the sentry runs in guest mode on this vCPU right now. */
  inKvmRun: boolean;
}

/** The threads in KVM_RUN in the script's output, with their vCPU ids where the fd says. */
export function parseVcpuThreads(text: string): VcpuThread[] {
  const vcpuOfFd = new Map<number, number>();
  for (const m of text.matchAll(/^F (\d+) .*kvm-(?:standin-)?vcpu:(\d+)/gm)) vcpuOfFd.set(Number(m[1]), Number(m[2]));
  const out: VcpuThread[] = [];
  for (const m of text.matchAll(/^T (\d+) (\d+) (0x[0-9a-f]+) (0x[0-9a-f]+)/gm)) {
    if (!IOCTL.has(Number(m[2])) || Number(m[4]) !== KVM_RUN) continue;
    out.push({ tid: Number(m[1]), vcpu: vcpuOfFd.get(Number(m[3])), inKvmRun: true });
  }
  return out;
}
