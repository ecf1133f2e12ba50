// Names addresses in the vDSO (`[vdso]+0x7bc`), which Delve has no symbols for, from the target's
// /proc/PID/maps (read locally or over SSH by the MapsReader). The engine takes a `[…]` name for
// code without symbols: it is stepped over or left by its return address, never single-stepped.
import { inRange, type MapsReader } from '../linux/processMaps';
import type { Symbolizer, SymbolRef } from './symbolizer';

export class VdsoSymbolizer implements Symbolizer {
  constructor(
    private readonly maps: MapsReader,
    private readonly pid: number,
  ) {}

  async symbolize(addr: number): Promise<SymbolRef | undefined> {
    const m = await this.maps.read(this.pid).catch(() => undefined);
    return m?.vdso && inRange(m.vdso, addr) ? { name: '[vdso]', offset: addr - m.vdso.start } : undefined;
  }
}
