// Activation time of the packaged extension in a real extension host (code-server), against an
// empty extension activated the same way in the same host: the runner extension times
// `await extension.activate()` for both before any suite can activate ours.
// Standalone: node --import tsx bench/activation.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagedExtension, startSession } from '../test/ext-tests/harness';
import { ActivationTiming, BASELINE_EXTENSION_ID, EXTENSION_UNDER_TEST_ID } from '../test/ext-tests/src/results';
import { ensureCodeServer, removeOnExit, uiPrerequisiteProblem } from '../test/support/codeServer';
import { formatTable, median, type BenchRow } from './benchTable';

// Each run is a fresh code-server + browser (~10 s here): a cold extension host every time.
const RUNS = Number(process.env.BLUEPILL_BENCH_ACTIVATION_RUNS ?? 3);

function timingOf(timings: ActivationTiming[], id: string): number {
  const t = timings.find((x) => x.extensionId === id);
  if (!t) throw new Error(`no activation timing for ${id}`);
  if (t.error) throw new Error(`${id} failed to activate: ${t.error}`);
  if (t.wasActive) throw new Error(`${id} was already active before it could be timed`);
  return t.ms;
}

export async function run(): Promise<BenchRow[]> {
  const problem = uiPrerequisiteProblem();
  if (problem) throw new Error(`activation bench needs code-server and chromium: ${problem}`);
  const codeServer = ensureCodeServer();
  if ('reason' in codeServer) throw new Error(codeServer.reason);
  const vsix = packagedExtension();
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const workspace = removeOnExit(mkdtempSync(join(tmpdir(), 'bluepill-bench-ws-')));
    try {
      const session = await startSession({ vsix, workspaceFolder: workspace });
      try {
        baseline.push(timingOf(session.results.activations, BASELINE_EXTENSION_ID));
        ours.push(timingOf(session.results.activations, EXTENSION_UNDER_TEST_ID));
      } finally {
        await session.close();
      }
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  }
  const value = median(ours);
  const base = median(baseline);
  return [
    {
      name: `extension activation in code-server's extension host (median of ${RUNS}, lower is better)`,
      value: Number(value.toFixed(2)),
      unit: 'ms',
      baselineName: 'an empty extension activated the same way',
      baseline: Number(base.toFixed(2)),
      ratio: Number((value / base).toFixed(2)),
    },
  ];
}

if (require.main === module) {
  run().then(
    (rows) => console.log(formatTable(rows)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
