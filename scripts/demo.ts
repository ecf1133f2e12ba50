// The demo: builds the extension, starts the bluepill simulator as a local "sandbox", attaches
// real Delve through our client and prints a one-screen summary of its threads and of one
// bluepill fault, then serves VS Code (code-server) with the extension installed on a demo
// workspace and prints its URL. Ctrl+C stops everything. `--summary` stops after the summary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../test/support/simulator';
import { ensureCodeServer, startCodeServer } from '../test/support/codeServer';
import { writeDemoWorkspace } from '../test/support/demoWorkspace';
import { startLocalDelve } from '../src/target/localDelve';
import { DelveClient } from '../src/delve/delveClient';
import { AsmFlavour } from '../src/delve/delveTypes';

const hex = (n: number): string => `0x${n.toString(16)}`;

const summaryOnly = process.argv.includes('--summary');

function buildVsix(): string {
  console.log('demo: building the extension (npm run package) …');
  const r = spawnSync('npm', ['run', '--silent', 'package'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('npm run package failed');
  return join(process.cwd(), 'bluepill-debug.vsix');
}

async function main(): Promise<void> {
  console.log('demo: building and starting the bluepill simulator …');
  const sim = await startSimulator({ vcpus: 2 });
  const stopAll: Array<() => Promise<void>> = [() => sim.stop()];
  const cleanup = async (): Promise<void> => {
    for (const f of stopAll.reverse()) await f().catch(() => undefined);
  };
  process.once(
    'SIGINT',
    () =>
      void cleanup().then(() => {
        console.log('\ndemo: stopped');
        process.exit(0);
      }),
  );
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(0)));
  try {
    await sim.waitForProgress(3, 30_000);
    console.log(`demo: sandbox pid ${sim.pid}, container ${sim.containerId}, vCPU threads ${sim.vcpuTids.join(', ')}`);
    const dlv = await startLocalDelve({ pid: sim.pid });
    stopAll.push(() => dlv.stop());
    const client = new DelveClient(await dlv.connect());
    const version = await client.getVersion();
    console.log(
      `demo: Delve ${version.DelveVersion.split('\n')[0].replace('Version: ', '')} attached, listening on ${dlv.address.kind === 'tcp' ? `${dlv.address.host}:${dlv.address.port}` : dlv.address.path}\n`,
    );

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
    if (summaryOnly) return;

    const vsix = buildVsix();
    const cs = ensureCodeServer();
    if ('reason' in cs) throw new Error(`VS Code (code-server) is not available: ${cs.reason}`);
    const folder = mkdtempSync(join(tmpdir(), 'bluepill-demo-'));
    stopAll.push(async () => rmSync(folder, { recursive: true, force: true }));
    writeDemoWorkspace({ folder, binary: sim.binary });
    const server = await startCodeServer({ vsixPaths: [vsix], workspaceFolder: folder });
    stopAll.push(() => server.stop());
    console.log(`
demo: VS Code with bluepill-debug is ready. Open this in a browser on this machine:

    ${server.url}/?folder=${encodeURIComponent(folder)}

  - Run and Debug → "Attach to a local runsc-sandbox" → F5 (the simulator is pid ${sim.pid})
  - open bluepill-sim.objdump, find "kvm.sighandler(SB)" (Ctrl+F), put the cursor on the first
    instruction line below it and press F9 (or right-click an address: "Break at Address");
    a vCPU stops there
  - "Step over bluepill" (the pill icon in the debug toolbar, or Ctrl+Shift+F10); see Host
    context, Guest context, Bluepill hops
  - open notes.md or bluepill-sim.objdump and hover an address

Press Ctrl+C to stop the simulator and VS Code.`);
    await new Promise<void>(() => undefined);
  } finally {
    await cleanup();
  }
  console.log('demo: done (simulator stopped)');
}

main().catch((err: Error) => {
  console.error(`demo failed: ${err.message}`);
  process.exit(1);
});
