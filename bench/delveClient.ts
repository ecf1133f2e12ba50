// Delve client per-call latency vs a raw TCP JSON round trip to the same dlv, same run.
import { connect } from 'node:net';
import { once } from 'node:events';
import { DelveClient } from '../src/delve/delveClient';
import { startLocalDelve } from '../src/target/localDelve';
import { startSimulator } from '../test/support/simulator';
import { formatTable, median, type BenchRow } from './benchTable';

const N = 300;

async function rawRoundTrips(port: number, method: string, params: object): Promise<number[]> {
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.setEncoding('utf8');
  const times: number[] = [];
  let buf = '';
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    sock.write(JSON.stringify({ method: `RPCServer.${method}`, params: [params], id: i }) + '\n');
    while (!buf.includes('\n')) buf += (await once(sock, 'data'))[0] as string;
    JSON.parse(buf.slice(0, buf.indexOf('\n')));
    buf = buf.slice(buf.indexOf('\n') + 1);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  sock.destroy();
  return times;
}

async function clientRoundTrips(call: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

export async function run(): Promise<BenchRow[]> {
  const sim = await startSimulator({ vcpus: 2 });
  const dlv = await startLocalDelve({ pid: sim.pid });
  const client = new DelveClient(await dlv.connect());
  try {
    if (dlv.address.kind !== 'tcp') throw new Error('expected a tcp listener');
    const port = dlv.address.port;
    const tid = sim.vcpuTids[0];
    const cases: Array<[string, string, object, () => Promise<unknown>]> = [
      ['GetVersion', 'GetVersion', {}, () => client.getVersion()],
      ['ListThreads', 'ListThreads', {}, () => client.listThreads()],
      ['ListRegisters', 'ListRegisters', { ThreadID: tid, IncludeFp: false }, () => client.listRegisters(tid)],
      ['ExamineMemory 1000 B', 'ExamineMemory', { Address: 0x401000, Length: 1000 }, () => client.examineMemory(0x401000, 1000)],
    ];
    const rows: BenchRow[] = [];
    for (const [name, method, params, call] of cases) {
      const raw = median(await rawRoundTrips(port, method, params));
      const ours = median(await clientRoundTrips(call));
      rows.push({
        name: `delve client ${name} (median of ${N}, lower is better)`,
        value: ours,
        unit: 'ms',
        baselineName: 'raw TCP JSON',
        baseline: raw,
        ratio: ours / raw,
      });
    }
    return rows;
  } finally {
    await client.detach(false).catch(() => undefined);
    client.close();
    await dlv.stop();
    await sim.stop();
  }
}

if (require.main === module) {
  void run().then((rows) => console.log(formatTable(rows)));
}
