// The Go build ID from the first bytes of a binary: the `.note.go.buildid` note sits right after
// the ELF headers in Go binaries, so a few KiB read over SSH tell whether a cached copy of the
// sandbox's binary is the same build, without transferring the whole (tens of MB) file.

/** Bytes to read from the start of the file. */
export const BUILD_ID_PREFIX_BYTES = 64 * 1024;

export function goBuildIdFromPrefix(prefix: Buffer): string | undefined {
  // An ELF note: namesz=4, descsz, type=4 (NT_GO_BUILDID), name "Go\0\0", then desc.
  for (const little of [true, false]) {
    const head = Buffer.alloc(4);
    if (little) head.writeUInt32LE(4);
    else head.writeUInt32BE(4);
    let at = prefix.indexOf(Buffer.from('Go\0\0', 'latin1'));
    while (at >= 12) {
      const namesz = little ? prefix.readUInt32LE(at - 12) : prefix.readUInt32BE(at - 12);
      const descsz = little ? prefix.readUInt32LE(at - 8) : prefix.readUInt32BE(at - 8);
      const type = little ? prefix.readUInt32LE(at - 4) : prefix.readUInt32BE(at - 4);
      if (namesz === 4 && type === 4 && descsz > 0 && descsz < 1024 && at + 4 + descsz <= prefix.length) {
        return prefix.subarray(at + 4, at + 4 + descsz).toString('latin1');
      }
      at = prefix.indexOf(Buffer.from('Go\0\0', 'latin1'), at + 1);
    }
  }
  return undefined;
}
