// Go version and module information of a Go binary, from its `.go.buildinfo` section (what
// `go version -m` prints). Written from the format as Go's src/debug/buildinfo/buildinfo.go
// (readRawBuildInfo) and src/runtime/debug/mod.go (ParseBuildInfo) describe it:
//   0   14 bytes  magic "\xff Go buildinf:"
//   14  1 byte    pointer size
//   15  1 byte    flags: bit 0 big-endian pointers, bit 1 strings inline (Go ≥ 1.18)
//   Go ≥ 1.18: from 32, the version then the modinfo, each a uvarint length and the bytes.
//   Older: at 16 and 16 + ptrSize, pointers to the Go string headers {data, len} of
//   runtime.buildVersion and runtime.modinfo, read through the caller's address map.
// modinfo is wrapped in 16-byte sentinels, then holds tab-separated lines: "path" (main
// package), "mod" (main module: path, version, sum), "dep", "=>" (replacements), "build".

export class GoBuildInfoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoBuildInfoError';
  }
}

export interface GoBuildInfo {
  /** e.g. "go1.19.8" */
  goVersion: string;
  /** The "path" line: import path of package main. */
  mainPackage: string | undefined;
  /** The "mod" line's path; none in GOPATH-mode builds (Debian's, gVisor's bazel ones). */
  mainModule: string | undefined;
  mainModuleVersion: string | undefined;
  /** The "build" lines (Go ≥ 1.18): -compiler, CGO_ENABLED, GOARCH, -trimpath… */
  settings: Record<string, string>;
  /** modinfo without its sentinels ('' when the binary has none). */
  modinfo: string;
}

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const FLAG_BIG_ENDIAN = 1;
const FLAG_INLINE_STRINGS = 2;

/**
 * Parses the start of a .go.buildinfo section (a few hundred bytes are enough for Go ≥ 1.18).
 * readVirtual reads bytes at a virtual address, for the pointers of older binaries.
 */
export function parseGoBuildInfo(data: Buffer, readVirtual: (addr: number, length: number) => Buffer | undefined): GoBuildInfo {
  if (data.length < HEADER_SIZE || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new GoBuildInfoError('no Go build info (the .go.buildinfo magic is missing)');
  }
  const ptrSize = data[14];
  const flags = data[15];
  let version: string;
  let modinfo: string;
  if (flags & FLAG_INLINE_STRINGS) {
    const v = uvarintString(data, HEADER_SIZE, 'Go version');
    version = v.text;
    modinfo = uvarintString(data, v.next, 'module info').text;
  } else {
    if (ptrSize !== 4 && ptrSize !== 8) throw new GoBuildInfoError(`Go build info has pointer size ${ptrSize}`);
    const big = (flags & FLAG_BIG_ENDIAN) !== 0;
    const ptr = (buf: Buffer, off: number): number => readUint(buf, off, ptrSize, big);
    const goString = (at: number, what: string): string => {
      const header = readVirtual(ptr(data, at), 2 * ptrSize);
      if (header === undefined || header.length < 2 * ptrSize) throw new GoBuildInfoError(`Go build info: the ${what} pointer leads outside the file`);
      const len = ptr(header, ptrSize);
      if (len === 0) return '';
      const bytes = readVirtual(ptr(header, 0), len);
      if (bytes === undefined || bytes.length < len) throw new GoBuildInfoError(`Go build info: the ${what} string lies outside the file`);
      return bytes.toString('utf8');
    };
    version = goString(16, 'Go version');
    modinfo = goString(16 + ptrSize, 'module info');
  }
  if (!version.startsWith('go') && !version.startsWith('devel')) {
    throw new GoBuildInfoError(`Go build info: "${version.slice(0, 40)}" is not a Go version`);
  }
  return { goVersion: version, ...parseModinfo(stripSentinels(modinfo)) };
}

/** modinfo is stored between two 16-byte sentinels, the last line ending in '\n'. */
function stripSentinels(s: string): string {
  if (s.length >= 33 && s[s.length - 17] === '\n') return s.slice(16, s.length - 16);
  return s;
}

function parseModinfo(modinfo: string): Omit<GoBuildInfo, 'goVersion'> {
  const out: Omit<GoBuildInfo, 'goVersion'> = { mainPackage: undefined, mainModule: undefined, mainModuleVersion: undefined, settings: {}, modinfo };
  for (const line of modinfo.split('\n')) {
    const [key, ...rest] = line.split('\t');
    if (key === 'path') out.mainPackage = rest[0];
    else if (key === 'mod') {
      out.mainModule = rest[0];
      out.mainModuleVersion = rest[1];
    } else if (key === 'build' && rest.length > 0) {
      // "build\tkey=value"; a key with '=' or a value with spaces is quoted (Go's strconv.Quote)
      const kv = rest.join('\t');
      const m = /^("(?:[^"\\]|\\.)*"|[^=]*)=(.*)$/.exec(kv);
      if (m !== null) out.settings[unquote(m[1])] = unquote(m[2]);
    }
  }
  return out;
}

function unquote(s: string): string {
  if (s.length < 2 || !s.startsWith('"') || !s.endsWith('"')) return s;
  try {
    return JSON.parse(s) as string;
  } catch {
    return s;
  }
}

function uvarintString(data: Buffer, at: number, what: string): { text: string; next: number } {
  let len = 0;
  let mul = 1;
  let p = at;
  for (;;) {
    const b = data[p++];
    if (b === undefined || mul > 2 ** 49) throw new GoBuildInfoError(`Go build info: truncated ${what} length`);
    len += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) break;
  }
  if (p + len > data.length) throw new GoBuildInfoError(`Go build info: the ${what} (${len} bytes) extends past the section`);
  return { text: data.toString('utf8', p, p + len), next: p + len };
}

function readUint(buf: Buffer, off: number, size: number, big: boolean): number {
  if (size === 4) return big ? buf.readUInt32BE(off) : buf.readUInt32LE(off);
  const v = big ? buf.readBigUInt64BE(off) : buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GoBuildInfoError(`Go build info: pointer 0x${v.toString(16)} is above 2^53`);
  return Number(v);
}
