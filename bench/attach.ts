// Attach over SSH and per-request latency of the debug adapter, each next to a raw baseline
// measured in the same run against the same sshd, simulator and Delve:
// - attach: DAP attach request → first `threads` response, vs `ssh host dlv attach …` (what a
//   user types) plus one JSON-RPC call through a bridge;
// - stackTrace / scopes / variables right after a stop (nothing cached), vs the Delve RPC each
//   one needs, sent raw over an SSH bridge to the same Delve.
// Standalone: node --import tsx bench/attach.ts
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startSimulator } from '../test/support/simulator';
import { HOSTS, sshdUnavailable, startSshd } from '../test/support/sshd';
import { attach, collectOutput, newDapClient } from '../test/support/dapClient';
import { formatTable, median, type BenchRow } from './benchTable';
import { BRIDGE, manualAttach, ms, RawRpc, ssh } from './manualDelve';

const ROUNDS = 5;
const STOPS = 25;
export async function run(): Promise<BenchRow[]> {
  const why = sshdUnavailable();
  if (why) {
    console.error(`bench attach: skipped (${why})`);
    return [];
  }
  const sshd = await startSshd();
  const sim = await startSimulator({ vcpus: 2 });
  const rows: BenchRow[] = [];
  try {
    await sim.waitForProgress(3, 20_000);
    const config = { ssh: HOSTS.root, sshConfigFile: sshd.clientConfig, processId: sim.pid, sudo: false };

    // Attach: alternate ours and raw so drift hits both alike.
    const ours: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      raw.push(await manualAttach(['-F', sshd.clientConfig, '-T', '--', HOSTS.root], sim.pid, { sudo: false, detachWaitMs: 5000 }));
      const dc = newDapClient();
      await dc.start();
      await dc.initializeRequest({ adapterID: 'bluepill', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
      const t0 = process.hrtime.bigint();
      await dc.attachRequest({ type: 'bluepill', request: 'attach', name: 'bench', ...config } as DebugProtocol.AttachRequestArguments);
      await dc.threadsRequest();
      ours.push(ms(t0));
      await dc.configurationDoneRequest();
      await dc.disconnectRequest({});
      await dc.stop();
    }
    const a = median(ours);
    const b = median(raw);
    rows.push({
      name: `attach over SSH, DAP attach → first threads (median of ${ROUNDS}, lower is better)`,
      value: a,
      unit: 'ms',
      baselineName: 'ssh dlv attach + bridge + ListThreads',
      baseline: b,
      ratio: a / b,
    });

    // Per-request latency right after a stop.
    const dc = newDapClient();
    const output = collectOutput(dc);
    await attach(dc, { ...config, stopOnAttach: true });
    await dc.configurationDoneRequest();
    const port = Number(/"port":(\d+)/.exec(output())?.[1]);
    const rpc = new RawRpc(ssh(['-F', sshd.clientConfig, '-T', '--', HOSTS.root], `bash -c '${BRIDGE}' bash ${port}`));
    try {
      const first = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
      await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'bluepill.sim/pkg/sentry/platform/kvm.CheckGuestCode' }] });
      await first;
      let stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
      await dc.continueRequest({ threadId: sim.pid });
      const tid = (await stopped).body.threadId!;
      await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
      const goid = Number(/\[g (\d+)\]/.exec((await dc.threadsRequest()).body.threads.find((t) => t.id === tid)!.name)![1]);
      const t = {
        stack: [] as number[],
        scopes: [] as number[],
        vars: [] as number[],
        rawStack: [] as number[],
        rawVars: [] as number[],
        rawVersion: [] as number[],
      };
      for (let i = 0; i < STOPS; i++) {
        stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
        await dc.stepInRequest({ threadId: tid, granularity: 'instruction' });
        await stopped;
        let t0 = process.hrtime.bigint();
        const frames = (await dc.stackTraceRequest({ threadId: tid, startFrame: 0, levels: 20 })).body.stackFrames;
        t.stack.push(ms(t0));
        t0 = process.hrtime.bigint();
        const scopes = (await dc.scopesRequest({ frameId: frames[1].id })).body.scopes;
        t.scopes.push(ms(t0));
        t0 = process.hrtime.bigint();
        await dc.variablesRequest({ variablesReference: scopes[0].variablesReference });
        t.vars.push(ms(t0));
        t0 = process.hrtime.bigint();
        await rpc.call('Stacktrace', { Id: goid, Depth: 20, Full: false });
        t.rawStack.push(ms(t0));
        t0 = process.hrtime.bigint();
        await rpc.call('ListLocalVars', {
          Scope: { GoroutineID: goid, Frame: 1 },
          Cfg: { FollowPointers: true, MaxVariableRecurse: 1, MaxStringLen: 256, MaxArrayValues: 64, MaxStructFields: -1 },
        });
        t.rawVars.push(ms(t0));
        t0 = process.hrtime.bigint();
        await rpc.call('GetVersion', {});
        t.rawVersion.push(ms(t0));
      }
      const row = (name: string, ourTimes: number[], baseName: string, base: number[]): BenchRow => {
        const v = median(ourTimes);
        const bl = median(base);
        return {
          name: `${name} after a stop over SSH (median of ${STOPS}, lower is better)`,
          value: v,
          unit: 'ms',
          baselineName: baseName,
          baseline: bl,
          ratio: v / bl,
        };
      };
      rows.push(row('DAP stackTrace (20 frames)', t.stack, 'raw Stacktrace RPC', t.rawStack));
      rows.push(row('DAP scopes', t.scopes, 'raw GetVersion RPC', t.rawVersion));
      rows.push(row('DAP variables (Locals)', t.vars, 'raw ListLocalVars RPC', t.rawVars));
    } finally {
      rpc.close();
      await dc.disconnectRequest({}).catch(() => undefined);
      await dc.stop();
    }
  } finally {
    await sim.stop();
    await sshd.stop();
  }
  return rows;
}

if (process.argv[1] && /bench[/\\]attach\.ts$/.test(process.argv[1])) {
  void run().then((rows) => console.log(formatTable(rows)));
}
