// The `bluepill` attach configuration: every field is checked here, in one place, and turned
// into a resolved object the adapter can use without further checks. Messages name the field.
// Nothing here knows VS Code; the extension and the adapter both call resolveAttachConfig.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DlvFlagError, validateDlvFlags } from './dlvFlags';

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface SubstitutePathRule {
  /** Path on this machine (where VS Code opens files). */
  from: string;
  /** Path on the target (what the binary's DWARF says). */
  to: string;
}

export interface ResolvedAttachConfig {
  /** OpenSSH destination; undefined means this machine. */
  ssh: string | undefined;
  /** `ssh -F` file (optional; the user's ~/.ssh/config otherwise). */
  sshConfigFile: string | undefined;
  processId: number | undefined;
  sandbox: string | undefined;
  sudo: boolean;
  dlvPath: string;
  dlvFlags: string[];
  substitutePath: SubstitutePathRule[];
  symbolFile: string | undefined;
  stopOnAttach: boolean;
  trace: boolean;
  /** Frames loaded per stackTrace page when the client does not say. */
  stackTraceDepth: number;
}

/** Hard cap on frames we ever ask Delve for (a runaway morestack recursion shows over 10000). */
export const MAX_STACK_FRAMES = 2000;

/** Every launch-configuration field the resolver reads (package.json's configurationAttributes list the same). */
export const ATTACH_FIELDS: readonly string[] = [
  'ssh',
  'sshConfigFile',
  'processId',
  'sandbox',
  'sudo',
  'dlvPath',
  'dlvFlags',
  'substitutePath',
  'symbolFile',
  'stopOnAttach',
  'trace',
  'stackTraceDepth',
];
const KNOWN_FIELDS = new Set(ATTACH_FIELDS);

// A user or host name part: letters, digits and . _ - (never first "-"). This covers user@host,
// Host aliases and DNS names; nothing here can become an option or a shell word.
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9._-]+)?$/;
// Control characters, whitespace and anything a shell treats specially.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Checks an OpenSSH destination: [user@]host, ssh://[user@]host[:port], or a Host alias. */
export function validateSshDestination(value: string, field = 'ssh'): string {
  const bad = (why: string): ConfigError =>
    new ConfigError(
      field,
      `"${field}": ${JSON.stringify(value)} is not an OpenSSH destination: ${why}. Use user@host, ssh://user@host:port or a Host alias from ~/.ssh/config.`,
    );
  if (value.length === 0) throw bad('it is empty');
  if (value.length > 255) throw bad('it is longer than 255 characters');
  if (value.startsWith('-')) throw bad('it starts with "-", which ssh would read as an option');
  if (CONTROL.test(value)) throw bad('it contains a control character');
  if (/\s/.test(value)) throw bad('it contains whitespace');
  let rest = value;
  let port: string | undefined;
  const url = rest.startsWith('ssh://');
  if (url) rest = rest.slice('ssh://'.length);
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const user = rest.slice(0, at);
    if (!NAME.test(user)) throw bad(`the user name ${JSON.stringify(user)} may only contain letters, digits, ".", "_" and "-"`);
    rest = rest.slice(at + 1);
  }
  if (url) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(rest);
    if (!m) throw bad('the host part is malformed');
    rest = m[1];
    port = m[2];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw bad(`port ${port} is out of range`);
  }
  if (rest.startsWith('[') && rest.endsWith(']')) {
    if (!url || !IPV6.test(rest.slice(1, -1))) throw bad('a bracketed address is only valid as ssh://[IPv6]:port');
  } else if (!NAME.test(rest) && !(rest.includes(':') && !url && IPV6.test(rest))) {
    throw bad(`the host ${JSON.stringify(rest)} may only contain letters, digits, ".", "_" and "-"`);
  }
  return value;
}

function optionalString(raw: Record<string, unknown>, field: string): string | undefined {
  const v = raw[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ConfigError(field, `"${field}" must be a string, not ${typeof v}.`);
  if (CONTROL.test(v)) throw new ConfigError(field, `"${field}" contains a control character (newline, tab, NUL...).`);
  return v;
}

function optionalBoolean(raw: Record<string, unknown>, field: string): boolean | undefined {
  const v = raw[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ConfigError(field, `"${field}" must be true or false, not ${JSON.stringify(v)}.`);
  return v;
}

/** A path given to a program as its own argv element: it must not look like an option. */
function checkPath(field: string, value: string): string {
  if (value.startsWith('-')) throw new ConfigError(field, `"${field}": ${JSON.stringify(value)} starts with "-"; give a path.`);
  return value;
}

function resolveProcessId(raw: Record<string, unknown>): number | undefined {
  const v = raw.processId;
  if (v === undefined || v === null || v === '' || v === 0) return undefined;
  if (typeof v === 'string') {
    if (v.startsWith('${'))
      throw new ConfigError('processId', `"processId" is ${JSON.stringify(v)}, which VS Code did not resolve. Pick a sandbox when asked, or give a number.`);
    if (!/^[0-9]{1,10}$/.test(v)) throw new ConfigError('processId', `"processId" must be a process id (digits), not ${JSON.stringify(v)}.`);
    return resolvePid(Number(v));
  }
  if (typeof v !== 'number') throw new ConfigError('processId', `"processId" must be a number, not ${typeof v}.`);
  return resolvePid(v);
}

function resolvePid(n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0 || n > 0x7fffffff) throw new ConfigError('processId', `"processId" ${n} is not a valid process id.`);
  return n;
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

function resolveSubstitutePath(raw: Record<string, unknown>): SubstitutePathRule[] {
  const v = raw.substitutePath;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError('substitutePath', '"substitutePath" must be a list of {"from": local path, "to": path on the target}.');
  return v.map((rule: unknown, i) => {
    const field = `substitutePath[${i}]`;
    if (typeof rule !== 'object' || rule === null) throw new ConfigError('substitutePath', `"${field}" must be {"from": ..., "to": ...}.`);
    const r = rule as Record<string, unknown>;
    for (const key of ['from', 'to'] as const) {
      if (typeof r[key] !== 'string') throw new ConfigError('substitutePath', `"${field}.${key}" must be a string.`);
      if (CONTROL.test(r[key] as string)) throw new ConfigError('substitutePath', `"${field}.${key}" contains a control character.`);
    }
    return { from: r.from as string, to: r.to as string };
  });
}

/** Resolves and validates a launch configuration; throws ConfigError naming the bad field. */
export function resolveAttachConfig(input: unknown): ResolvedAttachConfig {
  if (typeof input !== 'object' || input === null) throw new ConfigError('', 'The launch configuration must be an object.');
  const raw = input as Record<string, unknown>;
  if (raw.request !== undefined && raw.request !== 'attach') {
    throw new ConfigError('request', `"request" must be "attach": bluepill attaches to a running runsc-sandbox (got ${JSON.stringify(raw.request)}).`);
  }
  const sshRaw = optionalString(raw, 'ssh');
  const ssh = sshRaw === undefined ? undefined : validateSshDestination(sshRaw);
  const sshConfigFile = optionalString(raw, 'sshConfigFile');
  if (sshConfigFile !== undefined) {
    checkPath('sshConfigFile', sshConfigFile);
    if (ssh === undefined) throw new ConfigError('sshConfigFile', '"sshConfigFile" only applies with "ssh"; set "ssh" too or remove it.');
    const expanded = sshConfigFile.startsWith('~/') ? join(homedir(), sshConfigFile.slice(2)) : sshConfigFile;
    if (!existsSync(expanded)) throw new ConfigError('sshConfigFile', `"sshConfigFile": ${JSON.stringify(sshConfigFile)} does not exist on this machine.`);
  }
  const processId = resolveProcessId(raw);
  const sandbox = optionalString(raw, 'sandbox');
  if (processId !== undefined && sandbox !== undefined) {
    throw new ConfigError(
      'sandbox',
      `"sandbox" and "processId" both name the sandbox to attach to (${JSON.stringify(sandbox)}, ${processId}); give one of them.`,
    );
  }
  if (sandbox !== undefined && !CONTAINER_ID.test(sandbox)) {
    throw new ConfigError(
      'sandbox',
      `"sandbox": ${JSON.stringify(sandbox)} is not a container id (letters, digits, "_", ".", "+", "-"; not starting with "-").`,
    );
  }
  const dlvPath = checkPath('dlvPath', optionalString(raw, 'dlvPath') ?? 'dlv');
  let dlvFlags: string[] = [];
  if (raw.dlvFlags !== undefined && raw.dlvFlags !== null) {
    if (!Array.isArray(raw.dlvFlags)) throw new ConfigError('dlvFlags', '"dlvFlags" must be a list of strings, e.g. ["--log", "--log-output=rpc"].');
    try {
      dlvFlags = validateDlvFlags(raw.dlvFlags as string[]);
    } catch (err) {
      if (err instanceof DlvFlagError) throw new ConfigError('dlvFlags', err.message);
      throw err;
    }
  }
  const symbolFileRaw = optionalString(raw, 'symbolFile');
  const symbolFile = symbolFileRaw === undefined ? undefined : checkPath('symbolFile', symbolFileRaw);
  let stackTraceDepth = 50;
  if (raw.stackTraceDepth !== undefined && raw.stackTraceDepth !== null) {
    const d = raw.stackTraceDepth;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > MAX_STACK_FRAMES) {
      throw new ConfigError('stackTraceDepth', `"stackTraceDepth" must be a whole number from 1 to ${MAX_STACK_FRAMES}.`);
    }
    stackTraceDepth = d;
  }
  for (const key of Object.keys(raw)) {
    if (KNOWN_FIELDS.has(key)) continue;
    // VS Code adds type/request/name/__* fields; anything else is probably a typo.
    if (
      [
        'type',
        'request',
        'name',
        'preLaunchTask',
        'postDebugTask',
        'presentation',
        'internalConsoleOptions',
        'debugServer',
        'suppressMultipleSessionWarning',
      ].includes(key) ||
      key.startsWith('__')
    )
      continue;
    throw new ConfigError(key, `"${key}" is not a bluepill attach setting. Known settings: ${[...KNOWN_FIELDS].join(', ')}.`);
  }
  return {
    ssh,
    sshConfigFile,
    processId,
    sandbox,
    sudo: optionalBoolean(raw, 'sudo') ?? ssh !== undefined,
    dlvPath,
    dlvFlags,
    substitutePath: resolveSubstitutePath(raw),
    symbolFile,
    stopOnAttach: optionalBoolean(raw, 'stopOnAttach') ?? false,
    trace: optionalBoolean(raw, 'trace') ?? false,
    stackTraceDepth,
  };
}

/** Where the target is, for messages: "raspberrypi" or "this machine". */
export function targetName(config: Pick<ResolvedAttachConfig, 'ssh'>): string {
  return config.ssh ?? 'this machine';
}
