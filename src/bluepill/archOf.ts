// Which profile a live thread needs, told by Delve's register names (no extra round trip when
// the registers are read anyway).
import type { Register } from '../delve/delveTypes';
import type { ArchName, ArchProfile } from './archProfile';
import { amd64Profile } from './archAmd64';
import { arm64Profile } from './archArm64';

export function profileByName(name: ArchName): ArchProfile {
  return name === 'amd64' ? amd64Profile : arm64Profile;
}

export function profileOfRegisters(regs: readonly Register[]): ArchProfile {
  if (regs.some((r) => r.Name === 'Rip')) return amd64Profile;
  if (regs.some((r) => r.Name === 'PC') && regs.some((r) => r.Name === 'X30')) return arm64Profile;
  throw new Error(
    `unknown architecture: registers ${regs
      .map((r) => r.Name)
      .slice(0, 8)
      .join(', ')}`,
  );
}
