// Starts the debug adapter as its own process (node + tsx on src/adapter/main.ts; the bundle
// dist/adapter.js when BLUEPILL_ADAPTER=dist, or any bundle given as BLUEPILL_ADAPTER=/path/x.js)
// and drives it with DAP like VS Code does.
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { join } from 'node:path';
import { repoRoot } from './repoRoot';
import { startSimulator, type RunningSimulator, type SimStatus, type StartOptions } from './simulator';

export function newDapClient(): DebugClient {
  const choice = process.env.BLUEPILL_ADAPTER;
  const dist = choice === 'dist' || (choice?.endsWith('.js') ?? false);
  const entry = choice === 'dist' ? join(repoRoot, 'dist', 'adapter.js') : dist ? choice! : join(repoRoot, 'src', 'adapter', 'main.ts');
  const env = { ...process.env };
  if (!dist) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import tsx`.trim();
  const dc = new DebugClient(process.execPath, entry, 'bluepill', { env, cwd: repoRoot }, true);
  dc.defaultTimeout = 60_000;
  return dc;
}

/** initialize → attach → (initialized) → configurationDone; returns the attach response. */
export async function attach(dc: DebugClient, config: Record<string, unknown>): Promise<DebugProtocol.AttachResponse> {
  await dc.start();
  await dc.initializeRequest({ adapterID: 'bluepill', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsMemoryReferences: true });
  // A listener, not waitForEvent: a failed attach never sends it, and its timer would linger.
  const initialized = new Promise((resolve) => dc.once('initialized', resolve));
  const res = await dc.attachRequest({ type: 'bluepill', request: 'attach', name: 'test', ...config } as DebugProtocol.AttachRequestArguments);
  await initialized;
  return res;
}

/**
 * A simulator that has made `progress` round trips, and a DAP session attached to it with
 * configuration done (the shared `before` of the files that drive one session on one simulator).
 */
export async function simulatorSession(
  options: StartOptions,
  progress: number,
  timeoutMs: number,
): Promise<{ sim: RunningSimulator; dc: DebugClient; status: SimStatus }> {
  const sim = await startSimulator(options);
  const status = await sim.waitForProgress(progress, timeoutMs);
  const dc = newDapClient();
  await attach(dc, { processId: sim.pid });
  await dc.configurationDoneRequest();
  return { sim, dc, status };
}

/** Collects output events so tests can assert on messages. */
export function collectOutput(dc: DebugClient): () => string {
  let text = '';
  dc.on('output', (e: DebugProtocol.OutputEvent) => {
    text += e.body.output;
  });
  return () => text;
}

/** The error message of a failed request. */
export async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the request succeeded but a failure was expected');
}

/** The message of an attach that fails (a new adapter for it, stopped afterwards). */
export async function attachFailure(config: Record<string, unknown>): Promise<string> {
  const dc = newDapClient();
  try {
    return await failureOf(attach(dc, config));
  } finally {
    await dc.stop();
  }
}
