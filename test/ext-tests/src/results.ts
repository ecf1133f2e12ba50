// The file the runner extension writes and the harness reads: one JSON document per run.

export type TestState = 'passed' | 'failed' | 'skipped';

export interface TestOutcome {
  /** Titles of the enclosing suites, outermost first. */
  suite: string[];
  title: string;
  state: TestState;
  durationMs: number;
  /** Message and stack of the failure, or the reason of a skip. */
  error?: string;
}

export interface ActivationTiming {
  extensionId: string;
  /** Wall time of `await extension.activate()` in the extension host. */
  ms: number;
  /** True when something had activated it before the runner could time it (then `ms` means nothing). */
  wasActive: boolean;
  error?: string;
}

export interface TestResults {
  vscodeVersion: string;
  startedAt: string;
  finishedAt: string;
  passed: number;
  failed: number;
  skipped: number;
  tests: TestOutcome[];
  activations: ActivationTiming[];
  /** Set when the runner itself broke before or outside the suites. */
  runnerError?: string;
}

export const RESULTS_SETTING = 'bluepillTests.resultsFile';
export const RESULTS_ENV = 'BLUEPILL_TESTS_RESULTS';
export const RUNNER_EXTENSION_ID = 'bluepill-debug.bluepill-tests';
export const WARMUP_EXTENSION_ID = 'bluepill-debug.bluepill-warmup';
export const BASELINE_EXTENSION_ID = 'bluepill-debug.bluepill-baseline';
export const EXTENSION_UNDER_TEST_ID = 'bluepill-debug.bluepill-debug';
