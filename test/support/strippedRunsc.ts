// Checks shared by the stripped-runsc tests on amd64 and arm64: Debian's runsc has no .symtab and
// no DWARF, so the expected addresses and file:lines come from its own .gopclntab.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { BinarySymbols } from '../../src/symbols/binarySymbols';
import { nextStop, pcOf } from './dapSession';

/** A user's checkout of gVisor, and the substitutePath rule that maps it to Debian's -trimpath names. */
export const CHECKOUT = '/home/user/src/gvisor';
export const CHECKOUT_RULE = { from: CHECKOUT, to: 'gvisor.dev/gvisor' };

/** A function's entry from the binary's .gopclntab (there is no .symtab). */
export function entryOf(symbols: BinarySymbols, name: string): number {
  const s = symbols.table.symbols().find((x) => x.name === name || x.name === `${name}.abi0`);
  if (!s) throw new Error(`${name} is not in the binary's .gopclntab`);
  return s.start;
}

/** Every frame but the signal-frame label has the file:line the .gopclntab gives its PC. */
export function assertFramesMatchGopclntab(frames: readonly DebugProtocol.StackFrame[], symbols: BinarySymbols): void {
  for (const f of frames.filter((x) => x.presentationHint !== 'label')) {
    const pos = symbols.symbolize(Number(f.instructionPointerReference));
    assert.ok(f.source?.path && f.line > 0, `${f.name} has file:line`);
    assert.ok(
      pos && f.source.path.endsWith(pos.file.split('/').slice(-3).join('/')) && f.line === pos.line,
      `${f.name}: ${f.source.path}:${f.line} is the .gopclntab's ${pos?.file}:${pos?.line}`,
    );
  }
}

/**
 * For each function: a source breakpoint on its first line, in the checkout (CHECKOUT_RULE must be
 * the session's substitutePath), is verified at the function's entry, a thread stops there, and
 * frame 0 shows the checkout's file and line.
 */
export async function assertSourceBreakpointsHit(t: TestContext, dc: DebugClient, symbols: BinarySymbols, functions: readonly string[]): Promise<void> {
  for (const fn of functions) {
    const entry = entryOf(symbols, fn);
    const pos = symbols.symbolize(entry);
    assert.ok(pos && pos.line > 0, `${fn} has file:line in the .gopclntab`);
    const path = `${CHECKOUT}/${pos.file.replace(/^gvisor\.dev\/gvisor\//, '')}`;
    const stopped = nextStop(dc);
    const set = (await dc.setBreakpointsRequest({ source: { path }, breakpoints: [{ line: pos.line }] })).body.breakpoints;
    t.diagnostic(`${path}:${pos.line} → ${JSON.stringify(set[0])}`);
    assert.equal(set[0].verified, true, set[0].message);
    assert.equal(set[0].line, pos.line);
    assert.equal(set[0].source?.path, path);
    assert.equal(Number(set[0].instructionReference), entry, `the line's first PC is ${fn}'s entry`);
    const ev = await stopped;
    assert.equal(ev.body.reason, 'breakpoint');
    assert.equal(await pcOf(dc, ev.body.threadId!), entry, `stopped at ${fn}'s entry`);
    const frame = (await dc.stackTraceRequest({ threadId: ev.body.threadId!, startFrame: 0, levels: 1 })).body.stackFrames[0];
    assert.equal(`${frame.source?.path}:${frame.line}`, `${path}:${pos.line}`, 'frame 0 is in the checkout (substitutePath)');
    await dc.setBreakpointsRequest({ source: { path }, breakpoints: [] });
    await dc.continueRequest({ threadId: ev.body.threadId! });
  }
}
