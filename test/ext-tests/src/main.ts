// The test-only runner extension: installed beside ours in code-server (which has no
// --extensionTestsPath), it times activations, runs the suites and writes the results file the
// harness waits for. Without a results path configured it does nothing.
import { renameSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { ActivationTiming, BASELINE_EXTENSION_ID, EXTENSION_UNDER_TEST_ID, RESULTS_ENV, RESULTS_SETTING, TestResults, WARMUP_EXTENSION_ID } from './results';
import { runAll } from './tdd';
// Suites register themselves on import, in this order.
import '../suites/extension.suite';
import '../suites/language.suite';

const ACTIVATION_TIMEOUT_MS = 60_000;

function resultsPath(): string | undefined {
  const fromSetting = vscode.workspace.getConfiguration().get<string>(RESULTS_SETTING);
  return fromSetting || process.env[RESULTS_ENV] || undefined;
}

// Timed first, before any suite opens a document that would activate ours by an activation event.
async function timeActivation(extensionId: string): Promise<ActivationTiming> {
  const ext = vscode.extensions.getExtension(extensionId);
  if (!ext) return { extensionId, ms: 0, wasActive: false, error: 'not installed' };
  const wasActive = ext.isActive;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  // A hanging activate() must still leave a results file for the harness.
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`activate() did not settle in ${ACTIVATION_TIMEOUT_MS} ms`)), ACTIVATION_TIMEOUT_MS);
  });
  try {
    await Promise.race([ext.activate(), hung]);
    return { extensionId, ms: performance.now() - started, wasActive };
  } catch (err) {
    return { extensionId, ms: performance.now() - started, wasActive, error: String(err) };
  } finally {
    clearTimeout(timer);
  }
}

function writeAtomically(path: string, results: TestResults): void {
  // The harness polls for the file: it must never see half of it.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(results, null, 2));
  renameSync(tmp, path);
}

async function runAndReport(path: string): Promise<void> {
  const startedAt = new Date().toISOString();
  const results: TestResults = {
    vscodeVersion: vscode.version,
    startedAt,
    finishedAt: startedAt,
    passed: 0,
    failed: 0,
    skipped: 0,
    tests: [],
    activations: [],
  };
  try {
    // The first activate() in a host costs more (~20 ms here): a throwaway extension pays it.
    results.activations.push(await timeActivation(WARMUP_EXTENSION_ID));
    results.activations.push(await timeActivation(BASELINE_EXTENSION_ID));
    results.activations.push(await timeActivation(EXTENSION_UNDER_TEST_ID));
    results.tests = await runAll();
  } catch (err) {
    results.runnerError = err instanceof Error ? (err.stack ?? err.message) : String(err);
  }
  results.passed = results.tests.filter((t) => t.state === 'passed').length;
  results.failed = results.tests.filter((t) => t.state === 'failed').length;
  results.skipped = results.tests.filter((t) => t.state === 'skipped').length;
  results.finishedAt = new Date().toISOString();
  writeAtomically(path, results);
}

export function activate(): void {
  const path = resultsPath();
  if (!path) return;
  // Not awaited: activation must return, and the suites may wait for other extensions.
  void runAndReport(path);
}

export function deactivate(): void {}
