// Syscall numbers for the architecture profiles (the tables are in src/linux/syscallNumbers.ts,
// shared with the stepping guards).
import { AMD64_SYSCALL_NAMES, ARM64_SYSCALL_NAMES } from '../linux/syscallNumbers';

export const AMD64_SYSCALLS: Readonly<Record<number, string>> = AMD64_SYSCALL_NAMES;
export const ARM64_SYSCALLS: Readonly<Record<number, string>> = ARM64_SYSCALL_NAMES;

export function syscallNumberOf(table: Readonly<Record<number, string>>, name: string): number | undefined {
  for (const [n, v] of Object.entries(table)) if (v === name) return Number(n);
  return undefined;
}
