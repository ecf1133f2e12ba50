// Address breakpoints through the debug adapter (DAP, as VS Code drives it) on the amd64
// simulator with real Delve: breakpoints on instruction lines of a `go tool objdump` dump (the
// gutter of a go-objdump document), relocated when the dump is of another build; `*0xADDR` and
// `name+0xOFF` function breakpoints; the Debug Console's -b, -bl, -bc with the `breakpoint`
// events VS Code's Breakpoints view follows. Every path is judged by the guest-mode verdict
// (docs/architecture.md §3.3): guest-only code of the simulator is refused on each of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { resolveToolchain, type RunningSimulator } from '../../support/simulator';
import { hex, nextStop, pcOf } from '../../support/dapSession';
import { failureOf, simulatorSession } from '../../support/dapClient';

let sim: RunningSimulator;
let dc: DebugClient;
let symbols: Record<string, number>;
let dir: string;
let dump: string[];
let dumpPath: string;

before(async () => {
  ({ sim, dc } = await simulatorSession({ vcpus: 2, hops: 'two', interval: '1ms' }, 5, 30_000));
  const st = await sim.status();
  symbols = Object.fromEntries(Object.entries(st.symbols as Record<string, string>).map(([k, v]) => [k, Number(v)]));
  const { go } = await resolveToolchain('debian12');
  const text = execFileSync(go, ['tool', 'objdump', sim.binary], { encoding: 'utf8', maxBuffer: 1 << 30 });
  dump = text.split('\n');
  dir = mkdtempSync(join(tmpdir(), 'bluepill-addrbp-'));
  dumpPath = join(dir, 'sim.objdump');
  writeFileSync(dumpPath, text);
});

after(async () => {
  await dc?.stop().catch(() => undefined);
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** 1-based line of the instruction at `addr` in `lines`. */
function lineOf(lines: readonly string[], addr: number): number {
  const i = lines.findIndex((l) => new RegExp(`^ {2}\\S+:-?\\d+\\t+0x${addr.toString(16)}\\t`).test(l));
  assert.ok(i >= 0, `an instruction line at ${hex(addr)} in the dump`);
  return i + 1;
}

/** The TEXT name of the block holding line `line` (1-based). */
function functionAt(lines: readonly string[], line: number): string {
  for (let i = line - 1; i >= 0; i--) {
    const m = /^TEXT (.+?)\(SB\)/.exec(lines[i]);
    if (m) return m[1];
  }
  throw new Error(`no TEXT line above ${line}`);
}

/** The address of the instruction after `addr` in the dump. */
function nextInstruction(lines: readonly string[], addr: number): number {
  const line = lineOf(lines, addr);
  return parseInt(/\t0x([0-9a-f]+)\t/.exec(lines[line])![1], 16);
}

function setLines(path: string, lines: number[]): Promise<DebugProtocol.Breakpoint[]> {
  return dc
    .setBreakpointsRequest({ source: { path, name: path.split('/').pop() }, breakpoints: lines.map((line) => ({ line })) })
    .then((r) => r.body.breakpoints);
}

async function setFunctions(names: string[]): Promise<DebugProtocol.Breakpoint[]> {
  return (await dc.setFunctionBreakpointsRequest({ breakpoints: names.map((name) => ({ name })) })).body.breakpoints;
}

/** Waits for a thread to stop at `addr` (set before calling), clears with `clear`, continues. */
async function hitAndGoOn(stopped: Promise<DebugProtocol.StoppedEvent>, addr: number, clear: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const ev = await stopped;
  const tid = ev.body.threadId!;
  try {
    assert.equal(hex(await pcOf(dc, tid)), hex(addr), `thread ${tid} stopped at ${hex(addr)}`);
  } finally {
    await clear();
    await dc.continueRequest({ threadId: tid });
  }
  assert.ok(sim.alive(), sim.stderr());
  return ev;
}

async function repl(expression: string): Promise<string> {
  return (await dc.evaluateRequest({ expression, context: 'repl' })).body.result;
}

async function simulatorRunsOn(): Promise<void> {
  const before = (await sim.status()).roundTrips;
  const st = await sim.waitForProgress(before + 5, 60_000);
  assert.equal(st.checksOK, true);
  assert.doesNotMatch(sim.stderr(), /FATAL/);
}

test("a breakpoint on kvm.sighandler's first instruction line of a go tool objdump dump is verified there and hit", async (t) => {
  const addr = symbols['kvm.sighandler'];
  const line = lineOf(dump, addr);
  const stopped = nextStop(dc, 60_000);
  const [bp] = await setLines(dumpPath, [line]);
  t.diagnostic(`line ${line}: ${JSON.stringify(bp)}`);
  assert.equal(bp.verified, true, bp.message);
  assert.equal(bp.line, line);
  assert.equal(bp.source?.path, dumpPath);
  assert.equal(bp.instructionReference, hex(addr));
  const ev = await hitAndGoOn(stopped, addr, () => setLines(dumpPath, []));
  assert.match(ev.body.reason, /breakpoint/);
});

test('a line that is not an instruction (the TEXT line) is not verified and says so', async () => {
  const line = lineOf(dump, symbols['kvm.sighandler']) - 1;
  assert.match(dump[line - 1], /^TEXT /);
  const [bp] = await setLines(dumpPath, [line]);
  assert.equal(bp.verified, false);
  assert.equal(bp.message, `line ${line} of sim.objdump is not an instruction line`);
  await setLines(dumpPath, []);
});

test('a dump of another build (every address +0x1000) is relocated to the function in the attached binary and hit; a missing function is named', async (t) => {
  const addr = symbols['kvm.sighandler'];
  const second = nextInstruction(dump, addr);
  const shifted = dump.map((l) =>
    l.replace(/^( {2}\S+:-?\d+\t+)0x([0-9a-f]+)(\t)/, (_, a: string, h: string, b: string) => `${a}0x${(parseInt(h, 16) + 0x1000).toString(16)}${b}`),
  );
  const shiftedPath = join(dir, 'other-build.objdump');
  writeFileSync(shiftedPath, shifted.join('\n'));
  const line = lineOf(shifted, second + 0x1000);
  const stopped = nextStop(dc, 60_000);
  const [bp] = await setLines(shiftedPath, [line]);
  t.diagnostic(`relocated: ${JSON.stringify(bp)}`);
  assert.equal(bp.verified, true, bp.message);
  assert.equal(bp.instructionReference, hex(second));
  assert.equal(bp.line, line);
  assert.match(
    bp.message ?? '',
    new RegExp(
      `relocated: ${hex(second + 0x1000)} \\(.*kvm\\.sighandler(\\.abi0)?\\+${hex(second - addr)}\\) in other-build\\.objdump is ${hex(second)} in the attached binary`,
    ),
  );
  await hitAndGoOn(stopped, second, () => setLines(shiftedPath, []));

  // The same dump with the function renamed: not in the attached binary.
  const fn = functionAt(dump, line);
  const missing = shifted.map((l) => (l.startsWith(`TEXT ${fn}(SB)`) ? l.replace(fn, 'bluepill.sim/pkg/nosuch.gone') : l));
  const missingPath = join(dir, 'missing.objdump');
  writeFileSync(missingPath, missing.join('\n'));
  const [gone] = await setLines(missingPath, [line]);
  t.diagnostic(`missing: ${gone.message}`);
  assert.equal(gone.verified, false);
  assert.match(
    gone.message ?? '',
    new RegExp(
      `^${hex(second + 0x1000)} \\(bluepill\\.sim/pkg/nosuch\\.gone\\+${hex(second - addr)}\\) from missing\\.objdump is not in the attached binary: `,
    ),
  );
  await setLines(missingPath, []);
});

test('*0xADDR and name+0xOFF function breakpoints stop at that address', async (t) => {
  const addr = symbols['kvm.sighandler'];
  const second = nextInstruction(dump, addr);
  const full = functionAt(dump, lineOf(dump, addr));
  for (const name of [`*${hex(addr)}`, `kvm.sighandler+${hex(second - addr)}`, `${full}+${hex(second - addr)}`]) {
    const want = name.startsWith('*') ? addr : second;
    const stopped = nextStop(dc, 60_000);
    const [bp] = await setFunctions([name]);
    t.diagnostic(`${name}: ${JSON.stringify(bp)}`);
    assert.equal(bp.verified, true, `${name}: ${bp.message}`);
    assert.equal(bp.instructionReference, hex(want));
    const ev = await hitAndGoOn(stopped, want, () => setFunctions([]));
    assert.equal(ev.body.reason, 'function breakpoint');
  }
  const [past] = await setFunctions([`kvm.sighandler+0x100000`]);
  assert.equal(past.verified, false);
  assert.match(past.message ?? '', /is past the end of/);
  await setFunctions([]);
});

test('guest-only code is refused on every new path: a dump line, *0xADDR, name+0xOFF, -b', async (t) => {
  const guestOnly = symbols['ring0.kernelExitToEl0.guestOnly'];
  const entry = symbols['ring0.kernelExitToEl0'];
  const [line] = await setLines(dumpPath, [lineOf(dump, guestOnly)]);
  const [star, off] = await setFunctions([`*${hex(guestOnly)}`, `ring0.kernelExitToEl0+${hex(guestOnly - entry)}`]);
  const console = await failureOf(repl(`-b *${hex(guestOnly)}`));
  for (const [what, m] of [
    ['dump line', line.message],
    ['*0xADDR', star.message],
    ['name+0xOFF', off.message],
    ['-b', console],
  ] as const) {
    t.diagnostic(`${what}: ${m}`);
    assert.match(m ?? '', /runs only in guest mode/, what);
  }
  assert.equal(line.verified, false);
  assert.equal(star.verified, false);
  assert.equal(off.verified, false);
  await setLines(dumpPath, []);
  await setFunctions([]);
  await simulatorRunsOn();
});

test('-b (while running), -bl and -bc in the Debug Console: breakpoint events new and removed, a stop at the address', async (t) => {
  const addr = symbols['kvm.sighandler'];
  const announced = dc.waitForEvent('breakpoint', 30_000) as Promise<DebugProtocol.BreakpointEvent>;
  const stopped = nextStop(dc, 60_000);
  const made = await repl(`-b *${hex(addr)}`);
  t.diagnostic(made);
  const ev = await announced;
  assert.equal(ev.body.reason, 'new');
  assert.equal(ev.body.breakpoint.verified, true);
  assert.equal(ev.body.breakpoint.instructionReference, hex(addr));
  assert.ok(ev.body.breakpoint.source?.path && ev.body.breakpoint.line, 'file:line for the Breakpoints view');
  const id = ev.body.breakpoint.id!;
  assert.match(made, new RegExp(`^Breakpoint ${id} at ${hex(addr)}`));
  const stop = await stopped;
  assert.equal(stop.body.reason, 'instruction breakpoint');
  assert.equal(await pcOf(dc, stop.body.threadId!), addr);
  assert.match(await repl('-bl'), new RegExp(`^Breakpoint ${id} at ${hex(addr)}`));
  const removed = dc.waitForEvent('breakpoint', 30_000) as Promise<DebugProtocol.BreakpointEvent>;
  assert.equal(await repl(`-bc ${id}`), `Breakpoint ${id} cleared`);
  const rm = await removed;
  assert.equal(rm.body.reason, 'removed');
  assert.equal(rm.body.breakpoint.id, id);
  assert.equal(await repl('-bl'), 'no breakpoints made with -b');
  assert.match(await failureOf(repl(`-bc ${id}`)), /no breakpoint/);
  await dc.continueRequest({ threadId: stop.body.threadId! });
  await simulatorRunsOn();
});
