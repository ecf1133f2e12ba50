// A decoded flags register (amd64 EFLAGS, arm64 PSTATE) for the context views.

export interface FlagsView {
  /** Names of the single-bit flags that are set, most significant first. */
  set: string[];
  /** Multi-bit fields (IOPL, EL, SPSel...). */
  fields: Record<string, number>;
  /** One line, e.g. `[IF ZF PF] IOPL=0` or `[Z C] [I F] EL0t`. */
  text: string;
}

export interface FlagBit {
  bit: number;
  name: string;
}

export function setBits(value: bigint, bits: readonly FlagBit[]): string[] {
  return [...bits]
    .sort((a, b) => b.bit - a.bit)
    .filter((f) => (value >> BigInt(f.bit)) & 1n)
    .map((f) => f.name);
}
