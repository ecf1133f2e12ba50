// A thread's live registers from Delve, as numbers the engine can compute with.
import type { Register } from '../delve/delveTypes';
import type { ArchProfile } from './archProfile';
import { parseDelveRegisterValue, toAddress } from './machineContext';

export class ThreadRegisters {
  private readonly values = new Map<string, bigint>();

  constructor(readonly raw: readonly Register[]) {
    for (const r of raw) {
      try {
        this.values.set(r.Name, parseDelveRegisterValue(r.Value));
      } catch {
        // vector registers and the like: not needed here
      }
    }
  }

  value(name: string): bigint {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`Delve did not report register ${name}`);
    return v;
  }

  address(name: string): number {
    return toAddress(this.value(name));
  }

  pc(p: ArchProfile): number {
    return this.address(p.pcRegister);
  }

  sp(p: ArchProfile): number {
    return this.address(p.spRegister);
  }
}
