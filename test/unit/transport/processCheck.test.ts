// What we tell the user about the process they asked to attach to, from its /proc entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeProcess } from '../../../src/transport/processCheck';
import { parseSupervisorFacts } from '../../../src/target/delveLauncher';

/** What Delve's supervisor prints of the target before it starts Delve. */
const out = (argv: string[], tracer: number, comm = ''): string =>
  `bluepill-facts-begin\nbluepill-cmdline ${Buffer.from(argv.map((a) => `${a}\0`).join('')).toString('hex')}\nbluepill-tracer ${tracer} ${comm}\nbluepill-facts-end\n`;

const SANDBOX = ['runsc-sandbox', '--root=/run/runsc', '--platform=kvm', 'boot', '--bundle=/b', 'c0ffee'];
const GOFER = ['runsc-gofer', '--root=/run/runsc', '--platform=kvm', 'gofer', '--bundle', '/b', '--spec-fd=3'];

test('the /proc facts: argv from cmdline, the tracer and its name', () => {
  const f = parseSupervisorFacts(42, out(SANDBOX, 977, 'dlv'));
  assert.deepEqual(f, { pid: 42, argv: SANDBOX, tracerPid: 977, tracerName: 'dlv' });
  assert.equal(parseSupervisorFacts(42, out(SANDBOX, 0)).tracerName, undefined);
  assert.deepEqual(parseSupervisorFacts(42, 'bluepill-cmdline \nbluepill-tracer 0 \n').argv, [], 'no such process: no command line');
});

test('a sandbox another debugger traces is refused, naming the tracer', () => {
  const j = judgeProcess(parseSupervisorFacts(42, out(SANDBOX, 977, 'dlv')), 'raspberrypi');
  assert.match(j.error ?? '', /^Another debugger already traces process 42 on raspberrypi: pid 977 \(dlv\)\. Only one debugger can attach/);
});

test("runsc's gofer is refused with the way to the sandbox; another process is attached with a warning", () => {
  assert.match(
    judgeProcess(parseSupervisorFacts(7, out(GOFER, 0)), 'this machine').error ?? '',
    /^Process 7 on this machine is runsc's gofer \(runsc-gofer .*\), not the sandbox\. Attach to the runsc-sandbox … boot process/,
  );
  assert.match(
    judgeProcess(parseSupervisorFacts(7, out(['/usr/bin/sleep', '100'], 0)), 'h').warning ?? '',
    /is not a runsc-sandbox … boot process \(\/usr\/bin\/sleep 100\); attaching anyway/,
  );
  assert.deepEqual(judgeProcess(parseSupervisorFacts(7, out(SANDBOX, 0)), 'h'), {});
});
