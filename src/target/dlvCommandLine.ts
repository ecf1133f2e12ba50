// The argv of the headless Delve we start, with the user's flags checked (src/config/dlvFlags.ts).
import { DlvFlagError, validateDlvFlags } from '../config/dlvFlags';

export interface DlvAttachArgs {
  pid: number;
  /** 'tcp' listens on 127.0.0.1:0; a path listens on that unix socket (Delve >= 1.22.1). */
  listen: 'tcp' | { unixSocket: string };
  extraFlags?: readonly string[];
}

export function dlvAttachArgv(args: DlvAttachArgs): string[] {
  if (!Number.isInteger(args.pid) || args.pid <= 0) throw new DlvFlagError(`process id ${String(args.pid)} is not a positive integer`);
  const listen = args.listen === 'tcp' ? '127.0.0.1:0' : `unix:${args.listen.unixSocket}`;
  return [
    'attach',
    String(args.pid),
    '--headless',
    '--api-version=2',
    `--listen=${listen}`,
    '--accept-multiclient',
    ...validateDlvFlags(args.extraFlags ?? []),
  ];
}
