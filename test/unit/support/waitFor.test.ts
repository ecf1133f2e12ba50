// The shared poll helper: returns the first answer, says what it waited for on timeout, stops at
// once on StopWaiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopWaiting, waitFor } from '../../support/waitFor';

test('waitFor returns the first answer that is not undefined or false', async () => {
  let n = 0;
  assert.equal(await waitFor('the third probe', () => (++n >= 3 ? n : undefined), { timeoutMs: 5_000, intervalMs: 1 }), 3);
  let m = 0;
  assert.equal(await waitFor('a true probe', async () => ++m >= 2, { timeoutMs: 5_000, intervalMs: 1 }), true);
  assert.equal(await waitFor('zero', () => 0, { timeoutMs: 5_000 }), 0, '0 and empty strings are answers');
});

test('on timeout it names what it waited for and the last error the probe threw', async () => {
  let calls = 0;
  await assert.rejects(
    waitFor(
      () => `the door (knocked ${calls} times)`,
      () => {
        calls++;
        throw new Error('nobody home');
      },
      { timeoutMs: 50, intervalMs: 5 },
    ),
    (err: Error) => /timed out after 50 ms waiting for the door \(knocked \d+ times\)\nlast error: nobody home/.test(err.message),
  );
  assert.ok(calls > 1, 'a throwing probe is retried');
  await assert.rejects(
    waitFor('never', () => false, { timeoutMs: 20, intervalMs: 5 }),
    /timed out after 20 ms waiting for never$/,
  );
});

test('StopWaiting ends the wait at once with that error', async () => {
  let calls = 0;
  const started = Date.now();
  await assert.rejects(
    waitFor(
      'a dead process',
      () => {
        calls++;
        throw new StopWaiting('it exited');
      },
      { timeoutMs: 10_000 },
    ),
    { message: 'it exited' },
  );
  assert.equal(calls, 1);
  assert.ok(Date.now() - started < 5_000);
});
