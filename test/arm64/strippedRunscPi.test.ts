// The runsc people run, on arm64: Debian's own stripped runsc:arm64 20221219 (no DWARF, no
// .symtab, only .gopclntab) with --platform=kvm on the emulated Pi's /dev/kvm, attached over SSH as
// pi with sudo. The Pi's own Delve (Raspberry Pi OS: 1.20.2) gets the refusal before it starts;
// Debian 13's Delve 1.24 (copied into the Pi) debugs it at machine level: threads, the stack with
// file:line, breakpoints by function and by file:line, and step over bluepill on real guest exits.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { startPiVmOrReason, vmOutput, type PiVm } from '../support/piVm';
import { startRunscInVm, type RunscInVm } from '../support/runscInPi';
import { runscOrReason } from '../support/runsc';
import { attachFailure } from '../support/dapClient';
import { assertLandedOnUcontextPc, STOP_TIMEOUT_MS, stepOverBluepill, stopAt } from '../support/dapSession';
import { loadBinarySymbols, type BinarySymbols } from '../../src/symbols/binarySymbols';
import { repoRoot } from '../support/repoRoot';
import { withCheckedSession } from '../support/checkedSession';
import { assertFramesMatchGopclntab, assertSourceBreakpointsHit, CHECKOUT_RULE, entryOf } from '../support/strippedRunsc';

const KVM = 'gvisor.dev/gvisor/pkg/sentry/platform/kvm';
const DLV_124 = '/home/pi/dlv-1.24';
// In pi's home: root may not write a file of pi's in sticky /tmp (fs.protected_regular).
const DLV_LOG = '/home/pi/dlv-calls.log';
const DLV_LOGGING = '/home/pi/dlv-logging';

let unavailable: string | undefined;
let vm: PiVm | undefined;
let sandbox: RunscInVm;
let binary = '';
let symbols: BinarySymbols;

function skipIfUnavailable(t: TestContext): boolean {
  if (unavailable === undefined) return false;
  t.skip(unavailable);
  return true;
}

before(async () => {
  const runsc = await runscOrReason('debianArm64');
  if ('unavailable' in runsc) {
    unavailable = runsc.unavailable;
    return;
  }
  binary = runsc.binary;
  let dlvArm64: string;
  try {
    const out = execFileSync('bash', [`${repoRoot}/scripts/toolchains.sh`, 'trixie-dlv-arm64'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    dlvArm64 = /^DLV_ARM64=(.*)$/m.exec(out)?.[1] ?? '';
  } catch (e) {
    unavailable = `Debian 13's arm64 Delve unavailable: ${(e as Error).message}`;
    return;
  }
  symbols = loadBinarySymbols(binary);
  assert.equal(symbols.source, 'gopclntab', "Debian's runsc:arm64 has no .symtab");
  ({ vm, unavailable } = await startPiVmOrReason({ kvm: true }));
  if (!vm) return;
  if ((await vm.ssh(['test', '-x', DLV_124])).code !== 0) await vm.copyIn(dlvArm64, DLV_124);
  await vmOutput(vm, ['chmod', '755', DLV_124]);
  // A dlv that logs its command lines, so the refusal test can prove Delve was never asked to attach.
  await vmOutput(vm, ['sh', '-c', `printf '#!/bin/sh\\necho "$*" >> ${DLV_LOG}\\nexec /usr/bin/dlv "$@"\\n' > ${DLV_LOGGING} && chmod 755 ${DLV_LOGGING}`]);
  sandbox = await startRunscInVm(vm, binary, { name: 'bluepill-runsc-debian-pi' });
});

after(async () => {
  try {
    await sandbox?.stop();
  } finally {
    await vm?.stop();
  }
});

function withSession(t: TestContext, config: Record<string, unknown>, body: (dc: DebugClient, output: () => string) => Promise<void>): Promise<void> {
  const target = { ssh: vm!.hostAlias, sshConfigFile: vm!.sshConfigPath, sudo: true, processId: sandbox.pid, dlvPath: DLV_124 };
  const options = {
    config: { ...target, ...config },
    label: 'attach over SSH with Delve 1.24',
    defaultTimeoutMs: STOP_TIMEOUT_MS,
    assertHealthy: (what: string) => sandbox.assertHealthy(what),
  };
  return withCheckedSession(t, options, ({ dc, output }) => body(dc, output));
}

test("the Pi's Delve 1.20.2 and a stripped runsc: the refusal, and Delve never attaches", async (t) => {
  if (skipIfUnavailable(t)) return;
  await vmOutput(vm!, ['sh', '-c', `: > ${DLV_LOG}; chmod 666 ${DLV_LOG}`]);
  const message = await attachFailure({ ssh: vm!.hostAlias, sshConfigFile: vm!.sshConfigPath, sudo: true, processId: sandbox.pid, dlvPath: DLV_LOGGING });
  t.diagnostic(message);
  assert.match(message, /The sandbox's binary \/home\/pi\/runsc-debian on .* is stripped \(no DWARF, no \.symtab; only \.gopclntab\)/);
  assert.match(message, /Delve 1\.20\.2 \(.*\) there cannot debug a stripped binary: that needs Delve 1\.21\.0 or later\. Nothing was started\./);
  assert.match(message, /go install github\.com\/go-delve\/delve\/cmd\/dlv@latest/);
  const calls = (await vmOutput(vm!, ['cat', DLV_LOG])).split('\n').filter(Boolean);
  assert.deepEqual(calls, ['version'], 'Delve was only asked for its version');
  await sandbox.assertHealthy('after the refusal');
});

test('Delve 1.24 and a stripped runsc on the Pi: threads, the stack with file:line, one "no variables" line, step over bluepill on real exits', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async (dc, output) => {
    assert.match(output(), /the sandbox's binary: \/home\/pi\/runsc-debian \(stripped: no DWARF\), built with go1\.19[.\d]*; Delve 1\.24\.0/);
    const sighandler = entryOf(symbols, `${KVM}.sighandler`);
    const tid = await stopAt(dc, sighandler);
    const threads = (await dc.threadsRequest()).body.threads.map((th) => th.id).sort((a, b) => a - b);
    assert.deepEqual(
      threads,
      [...(await sandbox.threads()).keys()].sort((a, b) => a - b),
      'DAP threads = /proc/PID/task',
    );
    const frames = (await dc.stackTraceRequest({ threadId: tid, startFrame: 0, levels: 20 })).body.stackFrames;
    t.diagnostic(frames.map((f) => `${f.name} ${f.source?.path ?? ''}:${f.line}`).join(' ← '));
    const label = frames.findIndex((f) => f.presentationHint === 'label');
    assert.ok(label > 0, 'a <signal handler called> frame');
    assert.match(frames[label + 1].name, /kvm\.bluepill/);
    assertFramesMatchGopclntab(frames, symbols);
    const scopes = (await dc.scopesRequest({ frameId: frames[0].id })).body.scopes;
    assert.equal(scopes[0].name, 'No variables: runsc-debian is stripped (registers and memory are available)');
    const r = await stepOverBluepill(dc, tid);
    assert.equal(r.body.stopReason, 'landed', r.body.description);
    const hop = await assertLandedOnUcontextPc(dc, tid, r, /SIGILL/);
    t.diagnostic(`${r.body.description}; landed at ${hop.landing.text}`);
    await dc.continueRequest({ threadId: tid });
  });
});

test('Delve 1.24 and a stripped runsc: source breakpoints by file:line, mapped through the .gopclntab, are hit at their PCs', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, { substitutePath: [CHECKOUT_RULE] }, async (dc) => {
    await assertSourceBreakpointsHit(t, dc, symbols, [`${KVM}.bluepillHandler`]);
  });
});
