// The amd64 profile: CLI → #GP → SIGSEGV; the Go runtime's restorer `mov $15, AX; syscall`.
import { mnemonicOf, type ArchProfile, type Instruction, type PrivilegedInstruction } from './archProfile';
import { AMD64_UCONTEXT_READ_SIZE, decodeEflags, decodeUcontextAmd64, looksLikeUcontextAmd64 } from './ucontextAmd64';
import { AMD64_SYSCALL_NAMES } from '../linux/syscallNumbers';

/** `MOVQ $15, AX; SYSCALL` as Go assembles runtime.sigreturn(__sigaction). */
export const AMD64_TRAMPOLINE = Buffer.from([0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05]);
export const AMD64_SYSCALL = Buffer.from([0x0f, 0x05]);

/** Instructions that raise #GP (SIGSEGV) at CPL 3 with IOPL 0, as Linux runs user code. */
function privilegedAmd64(code: Buffer): PrivilegedInstruction | undefined {
  if (code.length < 1) return undefined;
  const b0 = code[0];
  if (b0 === 0xfa) return { mnemonic: 'CLI' };
  if (b0 === 0xfb) return { mnemonic: 'STI' };
  if (b0 === 0xf4) return { mnemonic: 'HLT' };
  if (b0 >= 0xe4 && b0 <= 0xe7) return { mnemonic: b0 <= 0xe5 ? 'IN' : 'OUT' };
  if (b0 >= 0xec && b0 <= 0xef) return { mnemonic: b0 <= 0xed ? 'IN' : 'OUT' };
  if (b0 === 0x0f && code.length >= 2) {
    const b1 = code[1];
    if (b1 === 0x30) return { mnemonic: 'WRMSR' };
    if (b1 === 0x32) return { mnemonic: 'RDMSR' };
    if (b1 === 0x06) return { mnemonic: 'CLTS' };
    if (b1 === 0x08) return { mnemonic: 'INVD' };
    if (b1 === 0x09) return { mnemonic: 'WBINVD' };
    if (b1 >= 0x20 && b1 <= 0x23) return { mnemonic: b1 & 1 ? 'MOV DRn' : 'MOV CRn' };
    if (b1 === 0x01 && code.length >= 3) {
      const reg = (code[2] >> 3) & 7;
      const mod = code[2] >> 6;
      if (mod !== 3 && reg === 2) return { mnemonic: 'LGDT' };
      if (mod !== 3 && reg === 3) return { mnemonic: 'LIDT' };
      if (reg === 6) return { mnemonic: 'LMSW' };
      if (mod !== 3 && reg === 7) return { mnemonic: 'INVLPG' };
    }
  }
  return undefined;
}

const TRANSFER_MNEMONICS = new Set(['CALL', 'RET', 'RETQ', 'SYSCALL', 'SYSENTER', 'INT', 'INT3', 'UD2', 'HLT', 'IRETQ', 'LOOP', 'JMP']);

export const amd64Profile: ArchProfile = {
  name: 'amd64',
  signalNumber: 11,
  signalName: 'SIGSEGV',
  pcRegister: 'Rip',
  spRegister: 'Rsp',
  fpRegister: 'Rbp',
  lrRegister: undefined,
  flagsRegister: 'Rflags',
  ucontextPointerRegister: 'Rdx',
  syscallNumberRegister: 'Rax',
  returnAddressAtEntry: 'stack',
  maxInstructionLength: 15,
  ucontextReadSize: AMD64_UCONTEXT_READ_SIZE,
  trampolineBytes: AMD64_TRAMPOLINE,
  trampolineSyscallOffset: 7,
  syscalls: AMD64_SYSCALL_NAMES,
  decodeUcontext: decodeUcontextAmd64,
  looksLikeUcontext: looksLikeUcontextAmd64,
  ucontextAtHandlerEntry: (sp) => sp + 8,
  ucontextAtTrampoline: (sp) => sp,
  decodeFlags: decodeEflags,
  isTrampoline: (code) => code.length >= AMD64_TRAMPOLINE.length && code.subarray(0, AMD64_TRAMPOLINE.length).equals(AMD64_TRAMPOLINE),
  isSyscallInstruction: (code) => code.length >= 2 && code[0] === 0x0f && code[1] === 0x05,
  privilegedInstruction: privilegedAmd64,
  isControlTransfer(insn: Instruction): boolean {
    const m = mnemonicOf(insn.text);
    if (m.startsWith('J') || TRANSFER_MNEMONICS.has(m)) return true;
    return privilegedAmd64(insn.bytes) !== undefined || (insn.bytes[0] === 0x0f && insn.bytes[1] === 0x05) || insn.bytes[0] === 0xcc;
  },
  isCall: (insn) => mnemonicOf(insn.text) === 'CALL' || mnemonicOf(insn.text) === 'CALLQ',
  indirectCallRegister(insn: Instruction): string | undefined {
    const m = /^CALLQ?\s+(AX|BX|CX|DX|SI|DI|BP|SP|R8|R9|R1[0-5])\s*$/i.exec(insn.text.trim());
    if (!m) return undefined;
    const r = m[1].toUpperCase();
    return r.startsWith('R') ? r : 'R' + r.toLowerCase();
  },
  endsWithCall: endsWithCallAmd64,
};

/**
 * The call encodings compilers emit, ending at the end of `before`: `E8 rel32`, and `FF /2` with a
 * register (`CALL AX`, with REX `CALL R11`), `[reg]`, `[reg+disp8]` (with SIB `[reg+idx*s+disp8]`),
 * `[reg+disp32]` or `[rip+disp32]`. Other words on a stack rarely end like this and, besides,
 * must point into known code to be taken for a return address.
 */
function endsWithCallAmd64(before: Buffer): boolean {
  const n = before.length;
  const at = (back: number): number => (n - back >= 0 ? before[n - back] : -1);
  // `FF /2` with its ModRM byte `back` bytes from the end and the given mod field.
  const modrm = (back: number, mod: number): boolean => at(back + 1) === 0xff && ((at(back) >> 3) & 7) === 2 && at(back) >> 6 === mod;
  if (at(5) === 0xe8) return true;
  if (modrm(1, 3) || (modrm(1, 0) && (at(1) & 7) !== 4 && (at(1) & 7) !== 5)) return true; // CALL reg, CALL [reg]
  if (modrm(2, 1) && (at(2) & 7) !== 4) return true; // CALL [reg+disp8]
  if (modrm(3, 1) && (at(3) & 7) === 4) return true; // CALL [reg+idx*s+disp8]
  if ((modrm(5, 2) && (at(5) & 7) !== 4) || (modrm(5, 0) && (at(5) & 7) === 5)) return true; // [reg+disp32], [rip+disp32]
  return false;
}
