// A minimal mocha-TDD-style runner (suite/test/suiteSetup/suiteTeardown) for the extension host,
// where node:test cannot run and mocha is not a dependency. Same names as mocha's TDD interface,
// so the suites can move to mocha unchanged (e.g. under @vscode/test-electron).
import type { TestOutcome } from './results';

type Body = () => void | Promise<void>;

interface TestCase {
  title: string;
  body: Body;
  timeoutMs: number;
}

interface Suite {
  title: string;
  tests: TestCase[];
  children: Suite[];
  setups: Body[];
  teardowns: Body[];
}

/** A test body may throw this (through `skip()`) to report a skip with its reason. */
class Skip extends Error {}

const DEFAULT_TIMEOUT_MS = 60_000;

const root: Suite = { title: '', tests: [], children: [], setups: [], teardowns: [] };
let current: Suite = root;

export function suite(title: string, define: () => void): void {
  const child: Suite = { title, tests: [], children: [], setups: [], teardowns: [] };
  current.children.push(child);
  const parent = current;
  current = child;
  try {
    define();
  } finally {
    current = parent;
  }
}

export function test(title: string, body: Body, timeoutMs = DEFAULT_TIMEOUT_MS): void {
  current.tests.push({ title, body, timeoutMs });
}

export function suiteSetup(body: Body): void {
  current.setups.push(body);
}

export function suiteTeardown(body: Body): void {
  current.teardowns.push(body);
}

/** Ends the running test as skipped, with the reason shown in the results. */
export function skip(reason: string): never {
  throw new Skip(reason);
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

// A hung API call must not hang the whole run: the harness is waiting for the results file.
async function withTimeout(body: Body, timeoutMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(body), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function runSuite(s: Suite, path: string[], out: TestOutcome[]): Promise<void> {
  const here = s === root ? path : [...path, s.title];
  let setupError: string | undefined;
  for (const setup of s.setups) {
    try {
      await withTimeout(setup, DEFAULT_TIMEOUT_MS, 'suiteSetup');
    } catch (err) {
      setupError = `suiteSetup failed: ${describeError(err)}`;
      // Reported on its own too, so a suite holding only child suites cannot pass silently.
      out.push({ suite: here, title: 'suiteSetup', state: 'failed', durationMs: 0, error: setupError });
      break;
    }
  }
  for (const t of s.tests) {
    if (setupError) {
      out.push({ suite: here, title: t.title, state: 'failed', durationMs: 0, error: setupError });
      continue;
    }
    const started = performance.now();
    try {
      await withTimeout(t.body, t.timeoutMs, t.title);
      out.push({ suite: here, title: t.title, state: 'passed', durationMs: performance.now() - started });
    } catch (err) {
      const durationMs = performance.now() - started;
      if (err instanceof Skip) out.push({ suite: here, title: t.title, state: 'skipped', durationMs, error: err.message });
      else out.push({ suite: here, title: t.title, state: 'failed', durationMs, error: describeError(err) });
    }
  }
  if (!setupError) {
    for (const child of s.children) await runSuite(child, here, out);
  }
  for (const teardown of s.teardowns) {
    try {
      await withTimeout(teardown, DEFAULT_TIMEOUT_MS, 'suiteTeardown');
    } catch (err) {
      out.push({ suite: here, title: 'suiteTeardown', state: 'failed', durationMs: 0, error: describeError(err) });
    }
  }
}

/** Runs every suite registered so far, in registration order. */
export async function runAll(): Promise<TestOutcome[]> {
  const out: TestOutcome[] = [];
  await runSuite(root, [], out);
  return out;
}
