// What we say when the sandbox's binary is stripped and the target's Delve is older than 1.21
// (./strippedBinary.ts): what is wrong, and each way out as a command a user can copy.

/** The first Delve that debugs stripped executables (Delve's CHANGELOG, 1.21.0). */
export const STRIPPED_MIN_DELVE = '1.21.0';

export interface StrippedFacts {
  /** The binary's path on the target, or `/proc/PID/exe` when unknown. */
  binaryPath: string;
  hasSymtab: boolean;
  /** e.g. `1.20.2`; undefined when unknown. */
  delveVersion: string | undefined;
  dlvPath: string;
  where: string;
}

export function strippedMessage(f: StrippedFacts): string {
  const found = f.delveVersion ? `Delve ${f.delveVersion} (${f.dlvPath})` : `the Delve at ${f.dlvPath}`;
  return [
    `The sandbox's binary ${f.binaryPath} on ${f.where} is stripped (no DWARF${f.hasSymtab ? '' : ', no .symtab'}; only .gopclntab), and ${found} there cannot debug a stripped binary: that needs Delve ${STRIPPED_MIN_DELVE} or later. Nothing was started. Ways out:`,
    `• Debian 13 (trixie) or Raspberry Pi OS trixie ships Delve 1.24: sudo apt-get install delve`,
    `• the latest Delve, built on the target: go install github.com/go-delve/delve/cmd/dlv@latest  (then set "dlvPath": "~/go/bin/dlv")`,
    `• an unstripped runsc of the same version: in gVisor's source at that release, go build -o runsc-debug ./runsc  (no -ldflags=-s -w), and run the sandbox with it`,
  ].join('\n');
}
