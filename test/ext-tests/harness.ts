// Brings up a real VS Code holding the packaged extension and the test-only runner, waits for the
// runner's results file, and hands back the live session for UI steps (tests and bench share it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeServer, Workbench, openWorkbench, removeOnExit, startCodeServer } from '../support/codeServer';
import { repoRoot } from '../support/repoRoot';
import { waitFor } from '../support/waitFor';
import { buildTestExtensions } from './build';
import { RESULTS_SETTING, TestResults } from './src/results';

export const PACKAGED_VSIX = join(repoRoot, 'bluepill-debug.vsix');

// Suites wait on other extensions and the language server: give a slow machine room.
const RESULTS_TIMEOUT_MS = 240_000;

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newestMtime(join(path, name))), st.mtimeMs);
}

/**
 * The packaged extension: `bluepill-debug.vsix` as `npm run package` writes it, rebuilt first when
 * it is missing or older than the sources it is made of. BLUEPILL_VSIX overrides the path.
 */
export function packagedExtension(): string {
  const override = process.env.BLUEPILL_VSIX;
  if (override) return override;
  const inputs = ['src', 'syntaxes', 'media', 'package.json'].map((p) => newestMtime(join(repoRoot, p)));
  if (newestMtime(PACKAGED_VSIX) >= Math.max(...inputs)) return PACKAGED_VSIX;
  const r = spawnSync('npm', ['run', 'package'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(PACKAGED_VSIX)) {
    throw new Error(`npm run package failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return PACKAGED_VSIX;
}

export interface Session {
  server: CodeServer;
  workbench: Workbench;
  results: TestResults;
  /** Closes the browser, stops code-server, removes temp dirs. Safe to call twice. */
  close(): Promise<void>;
}

export interface SessionOptions {
  vsix: string;
  workspaceFolder: string;
  settings?: Record<string, unknown>;
}

export async function startSession(options: SessionOptions): Promise<Session> {
  const scratch = removeOnExit(mkdtempSync(join(tmpdir(), 'bluepill-ext-tests-')));
  const resultsFile = join(scratch, 'results.json');
  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  const close = async (): Promise<void> => {
    await workbench?.close().catch(() => undefined);
    workbench = undefined;
    await server?.stop();
    server = undefined;
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const { runnerVsix, warmupVsix, baselineVsix } = await buildTestExtensions(join(scratch, 'build'));
    server = await startCodeServer({
      vsixPaths: [options.vsix, runnerVsix, warmupVsix, baselineVsix],
      workspaceFolder: options.workspaceFolder,
      settings: { ...options.settings, [RESULTS_SETTING]: resultsFile },
    });
    // The extension host starts when a window connects: the browser is what starts the suites.
    workbench = await openWorkbench(server.url, options.workspaceFolder);
    const live = server;
    const results = await waitFor(
      'the runner extension to write its results',
      () => (existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as TestResults) : undefined),
      { timeoutMs: RESULTS_TIMEOUT_MS, intervalMs: 250 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${live.logs()}`);
    });
    return { server, workbench, results, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** One line per failed test, for assertion messages. */
export function describeFailures(results: TestResults): string {
  const lines = results.tests.filter((t) => t.state === 'failed').map((t) => `${[...t.suite, t.title].join(' › ')}: ${t.error ?? ''}`);
  if (results.runnerError) lines.unshift(`runner: ${results.runnerError}`);
  return lines.join('\n');
}
