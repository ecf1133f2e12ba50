// The runsc people run: Debian's own stripped runsc 20221219 (no DWARF, no .symtab, only
// .gopclntab) with --platform=kvm under the KVM stand-in. With Debian 12's Delve 1.20.2 the
// adapter refuses before Delve starts, with one message and the ways out; with Debian 13's Delve
// 1.24.0 the machine-level product works: threads, the stack through the signal frame with
// file:line, function and source breakpoints (file:line mapped through the binary's .gopclntab),
// step over bluepill, and one "no variables" line instead of Delve's errors.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { startRunscUnderStandin, type RunscSandbox } from '../../support/kvmStandin';
import { runscOrReason } from '../../support/runsc';
import { resolveToolchain, toolchainUnavailable } from '../../support/simulator';
import { SUDO_USER, HOSTS, sshdUnavailable, startSshd, type TestSshd } from '../../support/sshd';
import { assertLandedOnUcontextPc, hex, nextStop, pause, pcOf, readMemory, stepOverBluepill, stopAt } from '../../support/dapSession';
import { attachFailure } from '../../support/dapClient';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { loadBinarySymbols, type BinarySymbols } from '../../../src/symbols/binarySymbols';
import { withCheckedSession } from '../../support/checkedSession';
import { assertFramesMatchGopclntab, assertSourceBreakpointsHit, CHECKOUT_RULE, entryOf } from '../../support/strippedRunsc';

const KVM = 'gvisor.dev/gvisor/pkg/sentry/platform/kvm';

let unavailable: string | undefined;
let binary = '';
let symbols: BinarySymbols;
let dlv124 = '';
let sb: RunscSandbox;
let sshd: TestSshd | undefined;
let scratch = '';

function skipIfUnavailable(t: TestContext): boolean {
  if (unavailable === undefined) return false;
  t.skip(unavailable);
  return true;
}

before(async () => {
  const runsc = await runscOrReason('debianAmd64');
  if ('unavailable' in runsc) {
    unavailable = runsc.unavailable;
    return;
  }
  binary = runsc.binary;
  const noTrixie = await toolchainUnavailable('debian13');
  if (noTrixie) {
    unavailable = `Debian 13's Delve unavailable: ${noTrixie}`;
    return;
  }
  dlv124 = (await resolveToolchain('debian13')).dlv;
  symbols = loadBinarySymbols(binary);
  assert.equal(symbols.source, 'gopclntab', "Debian's runsc has no .symtab");
  assert.equal(symbols.elf.section('.debug_info'), undefined, "Debian's runsc has no DWARF");
  scratch = mkdtempSync(join(tmpdir(), 'bluepill-stripped-'));
  chmodSync(scratch, 0o755);
  sb = await startRunscUnderStandin({ runsc: binary, mode: 'every:5ms' });
  await sb.waitForExits(20, 60_000);
  if (!sshdUnavailable()) sshd = await startSshd();
});

after(async () => {
  await sb?.stop();
  await sshd?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A dlv that logs each of its command lines, so a test can prove Delve was never asked to attach. */
function loggingDlv(real: string, name: string): { path: string; calls: () => string[] } {
  const log = join(scratch, `${name}.log`);
  writeFileSync(log, '');
  chmodSync(log, 0o666);
  const path = join(scratch, name);
  writeFileSync(path, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(path, 0o755);
  return { path, calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

function withSession(t: TestContext, config: Record<string, unknown>, body: (dc: DebugClient, output: () => string) => Promise<void>): Promise<void> {
  const options = {
    config: { processId: sb.sandboxPid, dlvPath: dlv124, ...config },
    label: 'attach with Delve 1.24',
    assertHealthy: (what: string) => sb.assertHealthy(what),
  };
  return withCheckedSession(t, options, ({ dc, output }) => body(dc, output));
}

test("Delve 1.20.2 and a stripped runsc: one message that names the binary, Delve's version and the ways out; Delve never attaches", async (t) => {
  if (skipIfUnavailable(t)) return;
  const ways: Array<[string, Record<string, unknown>]> = [['this machine', {}]];
  if (sshd) ways.push([`SSH as ${SUDO_USER} with sudo`, { ssh: HOSTS.user, sshConfigFile: sshd.clientConfig, sudo: true }]);
  else t.diagnostic(`no SSH variant: ${sshdUnavailable()}`);
  for (const [how, config] of ways) {
    const dlv = loggingDlv('/usr/bin/dlv', `dlv-1.20-${how.replace(/\W+/g, '-')}`);
    const message = await attachFailure({ processId: sb.sandboxPid, dlvPath: dlv.path, ...config });
    t.diagnostic(`${how}: ${message}`);
    assert.match(
      message,
      new RegExp(`The sandbox's binary ${realpathSync(binary).replace(/[.+]/g, '\\$&')} on .* is stripped \\(no DWARF, no \\.symtab; only \\.gopclntab\\)`),
      how,
    );
    assert.match(message, /Delve 1\.20\.2 \(.*\) there cannot debug a stripped binary: that needs Delve 1\.21\.0 or later\. Nothing was started\./, how);
    assert.match(message, /sudo apt-get install delve/);
    assert.match(message, /go install github\.com\/go-delve\/delve\/cmd\/dlv@latest/);
    assert.match(message, /go build -o runsc-debug \.\/runsc/);
    assert.deepEqual(dlv.calls(), ['version'], `${how}: Delve was only asked for its version`);
    await sb.assertHealthy(`after the refusal (${how})`);
  }
});

test('Delve 1.24 and a stripped runsc: threads, the stack with file:line through the signal frame, registers and memory, one "no variables" line', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async (dc, output) => {
    assert.match(output(), /the sandbox's binary: .*runsc-debian \(stripped: no DWARF\), built with go1\.19[.\d]*; Delve 1\.24\.0/);
    await pause(dc);
    const threads = (await dc.threadsRequest()).body.threads.map((th) => th.id).sort((a, b) => a - b);
    assert.deepEqual(
      threads,
      readdirSync(`/proc/${sb.sandboxPid}/task`)
        .map(Number)
        .sort((a, b) => a - b),
      'DAP threads = /proc/PID/task',
    );
    // Pause reports the thread the user paused.
    await dc.continueRequest({ threadId: threads[0] });
    const stopped = nextStop(dc);
    await dc.pauseRequest({ threadId: threads[2] });
    assert.equal((await stopped).body.threadId, threads[2], 'the stopped event names the paused thread');
    await dc.continueRequest({ threadId: threads[0] });

    const sighandler = entryOf(symbols, `${KVM}.sighandler`);
    const tid = await stopAt(dc, sighandler);
    const frames = (await dc.stackTraceRequest({ threadId: tid, startFrame: 0, levels: 20 })).body.stackFrames;
    t.diagnostic(frames.map((f) => `${f.name} ${f.source?.path ?? ''}:${f.line}`).join(' ← '));
    assert.match(frames[0].name, /kvm\.sighandler/);
    const label = frames.findIndex((f) => f.presentationHint === 'label');
    assert.ok(label > 0, 'a <signal handler called> frame');
    assert.match(frames[label + 1].name, /kvm\.bluepill/);
    assertFramesMatchGopclntab(frames, symbols);
    const scopes = (await dc.scopesRequest({ frameId: frames[0].id })).body.scopes;
    assert.deepEqual(
      scopes.map((s) => s.name),
      ['No variables: runsc-debian is stripped (registers and memory are available)', `Registers (thread ${tid})`],
    );
    assert.equal(scopes[0].variablesReference, 0, 'the "no variables" line has nothing to expand');
    const regs = (await dc.variablesRequest({ variablesReference: scopes[1].variablesReference })).body.variables;
    const ripText = regs.find((r) => r.name === 'Rip')?.value ?? '';
    assert.equal(Number(ripText.split(' ')[0]), sighandler);
    assert.match(ripText, / kvm\.sighandler$/, 'the PC is shown with its symbol');
    const rip = await dc.evaluateRequest({ expression: 'rip', frameId: frames[0].id, context: 'watch' });
    assert.equal(Number(rip.body.result), sighandler, 'a register by name');
    const word = await dc.evaluateRequest({ expression: `*(*uint64)(${hex(sighandler)})`, frameId: frames[0].id, context: 'watch' });
    assert.equal(BigInt(word.body.result), (await readMemory(dc, sighandler, 8)).readBigUInt64LE(0), 'a typed memory read equals readMemory');
    assert.doesNotMatch(output(), /no debug information present in binary/);
    await dc.continueRequest({ threadId: tid });
  });
});

test('Delve 1.24 and a stripped runsc: function breakpoints with or without .abi0, and step over bluepill lands on the ucontext PC', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async (dc) => {
    const sighandler = entryOf(symbols, `${KVM}.sighandler`);
    for (const name of [`${KVM}.sighandler`, `${KVM}.sighandler.abi0`]) {
      const stopped = nextStop(dc);
      const set = (await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name }] })).body.breakpoints;
      assert.equal(set[0].verified, true, `${name}: ${set[0].message}`);
      assert.equal(Number(set[0].instructionReference), sighandler, name);
      const ev = await stopped;
      assert.equal(ev.body.reason, 'function breakpoint');
      await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
      assert.equal(await pcOf(dc, ev.body.threadId!), sighandler);
      if (name.endsWith('.abi0')) {
        // Disassembly and the guarded instruction step work without DWARF.
        const insns = (await dc.customRequest('disassemble', { memoryReference: hex(sighandler), instructionCount: 4 })).body
          .instructions as DebugProtocol.DisassembledInstruction[];
        assert.equal(Number(insns[0].address), sighandler);
        assert.ok(insns.length === 4 && insns.every((i) => i.instruction.length > 0), insns.map((i) => i.instruction).join('; '));
        const stepped = nextStop(dc);
        await dc.stepInRequest({ threadId: ev.body.threadId!, granularity: 'instruction' });
        await stepped;
        assert.equal(await pcOf(dc, ev.body.threadId!), Number(insns[1].address), 'one instruction step: the next instruction');
        const r = await stepOverBluepill(dc, ev.body.threadId!, 1);
        const hop = await assertLandedOnUcontextPc(dc, ev.body.threadId!, r, /SIGSEGV/);
        assert.ok(hop.host && hop.guest.registers.length > 0, 'the hop has its host and guest contexts');
        t.diagnostic(`landed at ${hop.landing.text}`);
      }
      await dc.continueRequest({ threadId: ev.body.threadId! });
    }
  });
});

test('Delve 1.24 and a stripped runsc: source breakpoints by file:line, mapped through the .gopclntab, are hit at their PCs', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, { substitutePath: [CHECKOUT_RULE] }, async (dc) => {
    await assertSourceBreakpointsHit(t, dc, symbols, [`${KVM}.bluepillHandler`, `${KVM}.sighandler`]);
  });
});
