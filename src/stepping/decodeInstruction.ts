// Recognises, from an instruction's bytes, the two kinds of instruction safe stepping cares
// about: a syscall (amd64 SYSCALL / INT 0x80, arm64 SVC) and a call (with where its target comes
// from). Everything else is "other": single-stepping it is harmless.
import type { StepArch } from './stepArch';

export type CallTarget =
  | { kind: 'direct'; address: number }
  | { kind: 'register'; register: string }
  /** `CALL disp(base)(index*scale)` or `CALL disp(RIP)`: the target is read from memory. */
  | { kind: 'memory'; base: string | undefined; index: string | undefined; scale: number; displacement: number; ripRelative: boolean };

export type DecodedInstruction =
  | { kind: 'syscall'; length: number }
  | { kind: 'call'; length: number; target: CallTarget }
  | { kind: 'other'; length: number | undefined };

const AMD64_REGISTERS = ['Rax', 'Rcx', 'Rdx', 'Rbx', 'Rsp', 'Rbp', 'Rsi', 'Rdi', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15'];

export function decodeInstruction(arch: StepArch, pc: number, bytes: Uint8Array): DecodedInstruction {
  return arch === 'amd64' ? decodeAmd64(pc, bytes) : decodeArm64(pc, bytes);
}

function decodeAmd64(pc: number, b: Uint8Array): DecodedInstruction {
  if (b[0] === 0x0f && b[1] === 0x05) return { kind: 'syscall', length: 2 };
  if (b[0] === 0xcd && b[1] === 0x80) return { kind: 'syscall', length: 2 };
  let i = 0;
  let rex = 0;
  if (b[i] >= 0x40 && b[i] <= 0x4f) rex = b[i++];
  if (b[i] === 0xe8 && b.length >= i + 5) {
    const rel = new DataView(b.buffer, b.byteOffset + i + 1, 4).getInt32(0, true);
    return { kind: 'call', length: i + 5, target: { kind: 'direct', address: pc + i + 5 + rel } };
  }
  if (b[i] !== 0xff || b.length < i + 2) return { kind: 'other', length: undefined };
  const modrm = b[i + 1];
  const mod = modrm >> 6;
  const reg = (modrm >> 3) & 7;
  const rm = modrm & 7;
  if (reg !== 2) return { kind: 'other', length: undefined }; // FF /2 is CALL r/m64
  const rexB = (rex & 1) << 3;
  const rexX = (rex & 2) << 2;
  let at = i + 2;
  if (mod === 3) return { kind: 'call', length: at, target: { kind: 'register', register: AMD64_REGISTERS[rm | rexB] } };
  let base: string | undefined;
  let index: string | undefined;
  let scale = 1;
  let ripRelative = false;
  let dispSize = mod === 1 ? 1 : mod === 2 ? 4 : 0;
  if (rm === 4) {
    const sib = b[at++];
    scale = 1 << (sib >> 6);
    const idx = ((sib >> 3) & 7) | rexX;
    if (idx !== 4) index = AMD64_REGISTERS[idx];
    const bs = sib & 7;
    if (bs === 5 && mod === 0) dispSize = 4;
    else base = AMD64_REGISTERS[bs | rexB];
  } else if (rm === 5 && mod === 0) {
    ripRelative = true;
    dispSize = 4;
  } else {
    base = AMD64_REGISTERS[rm | rexB];
  }
  if (b.length < at + dispSize) return { kind: 'other', length: undefined };
  const view = new DataView(b.buffer, b.byteOffset + at, dispSize);
  const displacement = dispSize === 1 ? view.getInt8(0) : dispSize === 4 ? view.getInt32(0, true) : 0;
  at += dispSize;
  return { kind: 'call', length: at, target: { kind: 'memory', base, index, scale, displacement, ripRelative } };
}

function decodeArm64(pc: number, b: Uint8Array): DecodedInstruction {
  if (b.length < 4) return { kind: 'other', length: undefined };
  const w = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  if ((w & 0xffe0001f) >>> 0 === 0xd4000001) return { kind: 'syscall', length: 4 }; // SVC #imm16
  if ((w & 0xfc000000) >>> 0 === 0x94000000) {
    const imm26 = w & 0x03ffffff;
    const offset = (imm26 & 0x02000000 ? imm26 - 0x04000000 : imm26) * 4;
    return { kind: 'call', length: 4, target: { kind: 'direct', address: pc + offset } }; // BL
  }
  if ((w & 0xfffffc1f) >>> 0 === 0xd63f0000) {
    return { kind: 'call', length: 4, target: { kind: 'register', register: `X${(w >> 5) & 31}` } }; // BLR Xn
  }
  return { kind: 'other', length: 4 };
}

/** Whether the instruction that ends right before `pc` is a syscall (the PC of a thread inside one). */
export function endsWithSyscall(arch: StepArch, bytesBeforePc: Uint8Array): boolean {
  const n = bytesBeforePc.length;
  if (arch === 'amd64') {
    return n >= 2 && ((bytesBeforePc[n - 2] === 0x0f && bytesBeforePc[n - 1] === 0x05) || (bytesBeforePc[n - 2] === 0xcd && bytesBeforePc[n - 1] === 0x80));
  }
  return n >= 4 && decodeArm64(0, bytesBeforePc.subarray(n - 4)).kind === 'syscall';
}

/** Whether the instruction that ends right before `address` is a call (a plausible return address). */
export function endsWithCall(arch: StepArch, address: number, bytesBefore: Uint8Array): boolean {
  const n = bytesBefore.length;
  if (arch === 'arm64') return n >= 4 && decodeArm64(address - 4, bytesBefore.subarray(n - 4)).kind === 'call';
  for (const len of [2, 3, 5, 6, 7]) {
    if (n < len) continue;
    const d = decodeAmd64(address - len, bytesBefore.subarray(n - len));
    if (d.kind === 'call' && d.length === len) return true;
  }
  return false;
}
