// A register set read from a signal ucontext (or from Delve's live registers), named the way
// Delve names registers so the two can be compared and shown side by side.

export interface NamedRegister {
  /** Delve's name: amd64 `Rip`, `Rsp`, `Rax`…, `Rflags`; arm64 `X0`…`X30`, `SP`, `PC`, `PSTATE`. */
  name: string;
  /** Full 64-bit value: guest registers need not be addresses, so no rounding to a double. */
  value: bigint;
}

export interface MachineContext {
  /** General registers in display order, PC/SP/flags included. */
  registers: NamedRegister[];
  pc: number;
  sp: number;
  /** Frame pointer (amd64 RBP, arm64 X29). */
  fp: number;
  /** arm64 link register X30; amd64 has none. */
  lr?: number;
  /** EFLAGS or PSTATE. */
  flags: bigint;
  /** Fields of the ucontext that are not registers (fault_address, trapno, err, cr2, uc_flags...). */
  extra: Record<string, bigint>;
}

/** A 64-bit register value as a JS number when it is an exact address (< 2^53), else NaN. */
export function toAddress(v: bigint): number {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : Number.NaN;
}

export function hex(v: number | bigint): string {
  return '0x' + v.toString(16);
}

export function registerValue(ctx: MachineContext, name: string): bigint | undefined {
  return ctx.registers.find((r) => r.name === name)?.value;
}

/** Delve's register value strings look like `0x1234` or `0x246\t[IF ZF PF]`; keep the number. */
export function parseDelveRegisterValue(value: string): bigint {
  const m = /^\s*(0x[0-9a-fA-F]+|\d+)/.exec(value);
  if (!m) throw new Error(`not a register value: ${JSON.stringify(value)}`);
  return BigInt(m[1]);
}
