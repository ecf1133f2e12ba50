// The mappings of a process, from /proc/PID/maps: where its vDSO is. Delve knows no symbols there,
// so this is the only way to name vDSO code (bluepill/vdsoSymbolizer.ts). The file is read
// through a function so that a remote transport (ssh `cat`) can supply it.
import { readFile } from 'node:fs/promises';

export interface AddressRange {
  start: number;
  end: number;
}

export interface MappedRegion extends AddressRange {
  permissions: string;
  name: string;
}

export interface ProcessMaps {
  regions: readonly MappedRegion[];
  vdso: AddressRange | undefined;
}

export interface MapsReader {
  /** The process's mappings (a reader may keep them: the vDSO moves only with a new process). */
  read(pid: number): Promise<ProcessMaps>;
}

export function parseProcMaps(text: string): ProcessMaps {
  const regions: MappedRegion[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(line);
    if (!m) continue;
    regions.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16), permissions: m[3], name: m[4].trim() });
  }
  const v = regions.find((r) => r.name === '[vdso]');
  return { regions, vdso: v ? { start: v.start, end: v.end } : undefined };
}

export function inRange(range: AddressRange | undefined, addr: number): boolean {
  return range !== undefined && addr >= range.start && addr < range.end;
}

/** A reader over any `readFile(path)`; the result is kept per pid (mappings of code do not move). */
export function mapsReaderFrom(readText: (path: string) => Promise<string>): MapsReader {
  const cache = new Map<number, Promise<ProcessMaps>>();
  return {
    read(pid: number): Promise<ProcessMaps> {
      let p = cache.get(pid);
      if (!p) {
        p = readText(`/proc/${pid}/maps`).then(parseProcMaps);
        cache.set(pid, p);
        p.catch(() => cache.delete(pid));
      }
      return p;
    },
  };
}

export function localMapsReader(): MapsReader {
  return mapsReaderFrom((path) => readFile(path, 'utf8'));
}
