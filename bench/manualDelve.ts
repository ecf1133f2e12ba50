// What a user does by hand, the baseline of the attach benchmarks: `ssh host [sudo] dlv attach …`,
// read the port Delve prints, bridge to it over a second ssh, send raw JSON-RPC lines.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';

/** Connects the ssh session's stdio to 127.0.0.1:$1 on the target (bash's /dev/tcp). */
export const BRIDGE = 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; exec 4<&0; cat <&4 >&3 2>/dev/null & exec cat <&3 4<&-';

export const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** ssh arguments that reach the target: e.g. `['-F', config, '-T', '--', host]`. */
export type SshArgs = readonly string[];

export function ssh(target: SshArgs, command: string): ChildProcessWithoutNullStreams {
  return spawn('ssh', [...target, command], { stdio: 'pipe' });
}

/** A raw newline-delimited JSON-RPC line protocol over a child's stdio. */
export class RawRpc {
  private buf = '';
  private id = 0;
  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
  }

  async call(method: string, params: object): Promise<unknown> {
    const id = ++this.id;
    this.child.stdin.write(JSON.stringify({ method: `RPCServer.${method}`, params: [params], id }) + '\n');
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const msg = JSON.parse(line) as { id: number; result: unknown; error: unknown };
        if (msg.id === id) {
          if (msg.error) throw new Error(String(msg.error));
          return msg.result;
        }
        continue;
      }
      const [chunk] = (await once(this.child.stdout, 'data')) as [string];
      this.buf += chunk;
    }
  }

  close(): void {
    this.child.kill();
  }
}

/**
 * By hand: `[sudo -n] dlv attach PID` over ssh, the bridge, one ListThreads (the time returned, in
 * ms); then detach and wait (at most `detachWaitMs`) for Delve to exit.
 */
export async function manualAttach(target: SshArgs, pid: number, options: { sudo: boolean; detachWaitMs: number }): Promise<number> {
  const asRoot = options.sudo ? 'sudo -n ' : '';
  const t0 = process.hrtime.bigint();
  const dlv = ssh(target, `${asRoot}dlv attach ${pid} --headless --api-version=2 --listen=127.0.0.1:0 --accept-multiclient`);
  let out = '';
  dlv.stdout.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    dlv.stdout.on('data', (d: string) => {
      out += d;
      const m = /API server listening at: 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    dlv.once('close', () => reject(new Error(`dlv exited: ${out}`)));
  });
  const rpc = new RawRpc(ssh(target, `${asRoot}bash -c '${BRIDGE}' bash ${port}`));
  await rpc.call('ListThreads', {});
  const elapsed = ms(t0);
  await rpc.call('Detach', { Kill: false }).catch(() => undefined);
  rpc.close();
  await Promise.race([once(dlv, 'close'), new Promise((r) => setTimeout(r, options.detachWaitMs))]);
  dlv.kill();
  return elapsed;
}
