// Addresses as DAP carries them: "0x..." strings (memoryReference, instructionReference).

export function hex(n: number): string {
  return '0x' + n.toString(16);
}

/** Parses "0x1f", "1f" (hex) or a decimal string; undefined when it is not an address. */
export function parseAddress(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(t)) n = parseInt(t.slice(2), 16);
  else if (/^[0-9]+$/.test(t)) n = Number(t);
  else return undefined;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
