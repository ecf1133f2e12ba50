// One debug session on a real sandbox, and afterwards the sandbox must be healthy, also when the
// session's assertions failed: whatever a test did, the product must leave the sandbox unharmed.
// Shared by the real-runsc tests on amd64 (the KVM stand-in) and arm64 (the emulated Pi).
import type { TestContext } from 'node:test';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { attach, collectOutput, newDapClient } from './dapClient';

export interface CheckedSession {
  dc: DebugClient;
  /** Everything the Debug Console showed so far. */
  output: () => string;
}

export interface CheckedSessionOptions {
  /** The attach configuration (processId, ssh, dlvPath…). */
  config: Record<string, unknown>;
  /** Throws unless the sandbox is alive, not stopped, untraced, with nothing of ours left. */
  assertHealthy(what: string): Promise<void>;
  /** What the attach time is reported as, e.g. "attach over SSH". */
  label?: string;
  /** The DAP client's default timeout (the emulated Pi is slow). */
  defaultTimeoutMs?: number;
}

export async function withCheckedSession(t: TestContext, options: CheckedSessionOptions, body: (s: CheckedSession) => Promise<void>): Promise<void> {
  const dc = newDapClient();
  if (options.defaultTimeoutMs) dc.defaultTimeout = options.defaultTimeoutMs;
  const output = collectOutput(dc);
  if (process.env.BLUEPILL_TEST_TRACE) dc.on('output', (e: DebugProtocol.OutputEvent) => process.stderr.write(`[${Date.now() % 1_000_000}] ${e.body.output}`));
  const t0 = Date.now();
  await attach(dc, { ...(process.env.BLUEPILL_TEST_TRACE ? { trace: true } : {}), ...options.config });
  t.diagnostic(`${options.label ?? 'attach'}: ${Date.now() - t0} ms`);
  await dc.configurationDoneRequest();
  let failure: unknown;
  try {
    await body({ dc, output });
  } catch (e) {
    failure = e;
  } finally {
    await dc.disconnectRequest({}).catch((e: Error) => t.diagnostic(`disconnect: ${e.message}`));
    await dc.stop();
  }
  const health = await options.assertHealthy(`after the session of "${t.name}"`).then(
    () => undefined,
    (e: Error) => e,
  );
  if (failure) {
    if (health) t.diagnostic(health.message);
    t.diagnostic(`the Debug Console's last lines:\n${output().slice(-4000)}`);
    throw failure;
  }
  if (health) throw health;
}
