// The engine is the only way to move a thread or plant a breakpoint: no module outside it calls
// Delve's resume commands or creates breakpoints (user breakpoints excepted: the adapter's
// breakpoint book, which asks the engine's verdict first). Checked on the types, with the
// TypeScript compiler: a call counts when the method it resolves to is DelveClient's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../../support/repoRoot';
import { ResumeGate } from '../../../src/bluepill/resumeGate';
import type { DebuggerState } from '../../../src/delve/delveTypes';

/** DelveClient methods that move threads or plant breakpoints. */
const GUARDED_METHODS = new Set(['stepInstruction', 'continue', 'command', 'createBreakpoint']);
/** Resume commands by name, for `command(…)` and raw `rpc.call('Command', { name })`. */
const RESUME_COMMANDS = /^(continue|next|step|stepOut|stepInstruction|rewind|call)$/;

function allowed(file: string, method: string): boolean {
  if (file.startsWith('src/bluepill/') || file.startsWith('src/delve/')) return true;
  return method === 'createBreakpoint' && file === 'src/adapter/breakpoints.ts';
}

test("no module outside the engine calls Delve's stepInstruction, continue, next/step/stepOut or CreateBreakpoint", () => {
  const config = ts.getParsedCommandLineOfConfigFile(join(repoRoot, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  assert.ok(config, 'tsconfig.json parses');
  const program = ts.createProgram(
    config.fileNames.filter((f) => relative(repoRoot, f).startsWith('src/')),
    config.options,
  );
  const checker = program.getTypeChecker();
  const violations: string[] = [];
  let seen = 0;
  for (const sf of program.getSourceFiles()) {
    const file = relative(repoRoot, sf.fileName);
    if (!file.startsWith('src/')) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const name = node.expression.name.text;
        const decl = checker.getSymbolAtLocation(node.expression.name)?.declarations?.[0];
        const from = decl ? relative(repoRoot, decl.getSourceFile().fileName) : '';
        const where = `${file}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
        if (from === 'src/delve/delveClient.ts' && GUARDED_METHODS.has(name)) {
          seen++;
          const first = node.arguments[0];
          const isResume = name !== 'command' || (first !== undefined && (!ts.isStringLiteral(first) || RESUME_COMMANDS.test(first.text)));
          if (isResume && !allowed(file, name)) violations.push(`${where}: ${node.getText(sf).slice(0, 80)}`);
        }
        // The raw JSON-RPC door: rpc.call('Command' | 'CreateBreakpoint', …).
        if (from === 'src/delve/jsonRpcConnection.ts' && name === 'call' && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
          const method = node.arguments[0].text;
          if ((method === 'Command' || method === 'CreateBreakpoint') && !allowed(file, 'command'))
            violations.push(`${where}: ${node.getText(sf).slice(0, 80)}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  assert.ok(seen > 5, `the check found the engine's own calls (${seen}): it looks at the right methods`);
  assert.deepEqual(violations, [], 'every resume and temporary breakpoint goes through the engine');
});

test('the resume gate halts at most once per resume, however many cancels arrive, and never while stopped', async () => {
  let halts = 0;
  let release: (() => void) | undefined;
  const state = { Running: false } as DebuggerState;
  const delve = {
    halt: async (): Promise<DebuggerState> => {
      halts++;
      release?.();
      return state;
    },
  };
  const gate = new ResumeGate(delve);
  assert.equal(await gate.halt(), false, 'nothing runs: no halt (it would stay pending as a SIGTRAP)');
  assert.equal(halts, 0);
  const ac = new AbortController();
  const running = gate.resume(() => new Promise<DebuggerState>((r) => (release = () => r(state))), ac.signal);
  assert.equal(gate.running, true);
  // Pause from the UI, the task's abort and a disconnect, all at once.
  ac.abort();
  const [a, b] = await Promise.all([gate.halt(), gate.halt()]);
  const ran = await running;
  assert.equal(halts, 1, 'one SIGTRAP for one resume');
  assert.ok(a && b, 'both requests saw the target halted');
  assert.equal(ran.halted, true);
  assert.equal(gate.running, false);
  assert.equal(await gate.halt(), false, 'stopped again: no halt');
  assert.equal(halts, 1);
  // A resume the breakpoint ended, with no cancel: not halted.
  const ended = await gate.resume(async () => state);
  assert.equal(ended.halted, false);
  await assert.rejects(Promise.all([gate.resume(() => new Promise(() => undefined)), gate.resume(async () => state)]), /already running/);
});
