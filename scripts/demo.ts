// The demo: starts the bluepill simulator as a local "sandbox", attaches real Delve through our
// client, prints a one-screen summary of its threads and of one bluepill fault, then detaches
// and leaves nothing running.
import { startSimulator } from '../test/support/simulator';
import { startLocalDelve } from '../src/transport/localDelve';
import { DelveClient } from '../src/delve/delveClient';
import { AsmFlavour } from '../src/delve/delveTypes';

const hex = (n: number): string => `0x${n.toString(16)}`;

async function main(): Promise<void> {
  console.log('demo: building and starting the bluepill simulator …');
  const sim = await startSimulator({ vcpus: 2 });
  const stopAll: Array<() => Promise<void>> = [() => sim.stop()];
  const cleanup = async (): Promise<void> => {
    for (const f of stopAll.reverse()) await f().catch(() => undefined);
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    await sim.waitForProgress(3, 30_000);
    console.log(`demo: sandbox pid ${sim.pid}, container ${sim.containerId}, vCPU threads ${sim.vcpuTids.join(', ')}`);
    const dlv = await startLocalDelve({ pid: sim.pid });
    stopAll.push(() => dlv.stop());
    const client = new DelveClient(await dlv.connect());
    const version = await client.getVersion();
    console.log(`demo: Delve ${version.DelveVersion.split('\n')[0].replace('Version: ', '')} attached on ${JSON.stringify(dlv.address)}\n`);

    const threads = await client.listThreads();
    console.log('  thread   pc                function');
    for (const t of threads.sort((a, b) => a.id - b.id)) {
      const vcpu = sim.vcpuTids.includes(t.id) ? '  (vCPU)' : '';
      console.log(`  ${String(t.id).padEnd(8)} ${hex(t.pc).padEnd(17)} ${t.function?.name ?? '?'}${vcpu}`);
    }

    const handler = (await client.findLocation('kvm.sighandler'))[0].function!.value;
    const bp = await client.createBreakpoint({ addrs: [handler] });
    const st = await client.continue({ timeoutMs: 30_000 });
    await client.clearBreakpoint(bp.id);
    const th = st.currentThread!;
    const regs = await client.listRegisters(th.id);
    const reg = (n: string): number => Number(regs.find((r) => r.Name === n)?.Value.split(/\s/)[0] ?? NaN);
    const uc = reg('Rdx');
    const savedPc = Number((await client.examineMemory(uc + 0xa8, 8)).readBigUInt64LE(0));
    const insn = (await client.disassemble(savedPc, savedPc + 1, AsmFlavour.Go))[0];
    const ret = Number((await client.examineMemory(reg('Rsp'), 8)).readBigUInt64LE(0));
    const tramp = (await client.disassemble(ret, 0, AsmFlavour.Go))[0];
    console.log(`\n  thread ${th.id} entered the bluepill signal handler ${th.function?.name} at ${hex(handler)}`);
    console.log(`  ucontext at ${hex(uc)}: saved PC ${hex(savedPc)} ${insn?.Loc.function?.name ?? '?'}: ${insn?.Text ?? '?'}`);
    console.log(`  the handler returns to the trampoline ${hex(ret)} ${tramp?.Loc.function?.name ?? '?'}`);

    await client.detach(false);
    console.log('\ndemo: detached; the simulator keeps running:');
    const before = (await sim.status()).roundTrips;
    const after = await sim.waitForProgress(before + 5, 30_000);
    console.log(`  round trips ${before} → ${after.roundTrips}, integrity checks ${after.checksOK ? 'pass' : 'FAIL'}`);
  } finally {
    await cleanup();
  }
  console.log('demo: done (simulator stopped)');
}

main().catch((err: Error) => {
  console.error(`demo failed: ${err.message}`);
  process.exit(1);
});
