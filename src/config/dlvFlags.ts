// The dlv flags a launch configuration may add to the Delve we start. The ones that would widen
// who can reach Delve or change what the adapter relies on are refused, and the message names the
// flag. No imports: the config resolver and the Delve launcher both read this table.

/** Flags we set ourselves or that would break the safety of the session. */
const REFUSED_FLAGS: Record<string, string> = {
  '--listen': "the adapter chooses the listen address (always the target's loopback)",
  '-l': "the adapter chooses the listen address (always the target's loopback)",
  '--headless': 'the adapter always runs Delve headless',
  '--api-version': 'the adapter speaks API version 2',
  '--accept-multiclient': 'the adapter sets it',
  '--only-same-user': "Delve's same-user check stays on; the adapter connects as Delve's own user",
  '--allow-non-terminal-interactive': 'not useful for a headless server',
  '--init': 'init scripts run Delve commands the adapter does not see',
  '--continue': 'use "stopOnAttach" instead',
};

/** Flags known to be harmless for attach, with whether they take a value. */
const ALLOWED_FLAGS: Record<string, boolean> = {
  '--log': false,
  '--log-output': true,
  '--log-dest': true,
  '--backend': true,
  '--check-go-version': true,
  '--disable-aslr': false,
  '--wd': true,
  '--build-flags': true,
  '--only-same-user=true': false,
};

export class DlvFlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DlvFlagError';
  }
}

/** Validates user-given dlv flags; returns them unchanged when acceptable. */
export function validateDlvFlags(flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i];
    if (typeof flag !== 'string' || flag.length === 0) throw new DlvFlagError(`"dlvFlags"[${i}] must be a non-empty string`);
    if (/[\0\n\r]/.test(flag)) throw new DlvFlagError(`"dlvFlags"[${i}] contains a control character`);
    const name = flag.includes('=') ? flag.slice(0, flag.indexOf('=')) : flag;
    if (REFUSED_FLAGS[name]) throw new DlvFlagError(`"dlvFlags" may not contain ${name}: ${REFUSED_FLAGS[name]}`);
    if (flag === '--only-same-user=true') {
      out.push(flag);
      continue;
    }
    if (!(name in ALLOWED_FLAGS)) {
      throw new DlvFlagError(
        `"dlvFlags"[${i}] "${flag}" is not a flag the adapter knows to be safe for attach; allowed: ${Object.keys(ALLOWED_FLAGS)
          .filter((f) => !f.includes('='))
          .join(', ')}`,
      );
    }
    out.push(flag);
    if (ALLOWED_FLAGS[name] && !flag.includes('=')) {
      const value = flags[i + 1];
      if (value === undefined || value.startsWith('-')) throw new DlvFlagError(`"dlvFlags": ${name} needs a value`);
      out.push(value);
      i++;
    }
  }
  return out;
}
