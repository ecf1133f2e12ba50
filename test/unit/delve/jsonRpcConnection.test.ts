// The codec against a scripted peer on a real socket pair: framing, errors, timeouts, close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { JsonRpcConnection } from '../../../src/delve/jsonRpcConnection';
import { DelveCancelledError, DelveConnectionClosedError, DelveError, DelveTimeoutError } from '../../../src/delve/delveErrors';
import { waitFor } from '../../support/waitFor';

/** A TCP peer that answers each request line with `answer(request)`, or not at all when it returns undefined. */
async function peer(answer: (req: { method: string; params: unknown[]; id: number }) => string | undefined) {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const out = answer(JSON.parse(line));
        if (out !== undefined) s.write(out);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  return {
    client,
    sockets,
    close: () => {
      client.destroy();
      sockets.forEach((s) => s.destroy());
      server.close();
    },
  };
}

test('sends JSON-RPC 1.0 lines and matches answers by id, even out of order and split across chunks', async () => {
  const seen: unknown[] = [];
  let held: string | undefined;
  const p = await peer((req) => {
    seen.push(req);
    const reply = JSON.stringify({ id: req.id, result: { echo: req.params[0] }, error: null }) + '\n';
    if (req.id === 1) {
      held = reply;
      return undefined;
    }
    // answer 2 first, then 1, split in the middle of a line
    const both = reply + (held ?? '');
    p.sockets[0].write(both.slice(0, 7));
    setTimeout(() => p.sockets[0].write(both.slice(7)), 20);
    return undefined;
  });
  const rpc = new JsonRpcConnection(p.client, 5000);
  const [a, b] = await Promise.all([rpc.call<{ echo: unknown }>('First', { x: 1 }), rpc.call<{ echo: unknown }>('Second', { y: 2 })]);
  assert.deepEqual(a, { echo: { x: 1 } });
  assert.deepEqual(b, { echo: { y: 2 } });
  assert.deepEqual(seen[0], { method: 'RPCServer.First', params: [{ x: 1 }], id: 1 });
  rpc.close();
  p.close();
});

test("Delve's error string becomes a DelveError carrying Delve's message", async () => {
  const p = await peer((req) => JSON.stringify({ id: req.id, result: null, error: 'no breakpoint with id 99' }) + '\n');
  const rpc = new JsonRpcConnection(p.client, 5000);
  await assert.rejects(rpc.call('ClearBreakpoint', { Id: 99 }), (err: unknown) => {
    assert.ok(err instanceof DelveError);
    assert.equal(err.delveMessage, 'no breakpoint with id 99');
    assert.equal(err.method, 'ClearBreakpoint');
    return true;
  });
  rpc.close();
  p.close();
});

test('a call without an answer times out, and the late answer is ignored', async () => {
  const p = await peer(() => undefined);
  const rpc = new JsonRpcConnection(p.client, 5000);
  await assert.rejects(rpc.call('State', {}, { timeoutMs: 50 }), DelveTimeoutError);
  p.sockets[0].write(JSON.stringify({ id: 1, result: {}, error: null }) + '\n');
  // the connection is still usable
  assert.equal(rpc.closed, false);
  rpc.close();
  p.close();
});

test('an aborted call rejects with DelveCancelledError', async () => {
  const p = await peer(() => undefined);
  const rpc = new JsonRpcConnection(p.client, 0);
  const ac = new AbortController();
  const pending = rpc.call('Command', { name: 'continue' }, { timeoutMs: 0, signal: ac.signal });
  ac.abort();
  await assert.rejects(pending, DelveCancelledError);
  rpc.close();
  p.close();
});

test('closing the connection from the other side rejects every pending call and later calls', async () => {
  let arrived = 0;
  const p = await peer(() => void arrived++);
  const rpc = new JsonRpcConnection(p.client, 0);
  const reasons: string[] = [];
  rpc.onClose((r) => reasons.push(r));
  const calls = [rpc.call('A', {}), rpc.call('B', {})];
  await waitFor('both calls at the other side', () => arrived === 2, { timeoutMs: 5_000, intervalMs: 5 });
  p.sockets[0].destroy();
  for (const c of calls) await assert.rejects(c, DelveConnectionClosedError);
  await assert.rejects(rpc.call('C', {}), DelveConnectionClosedError);
  assert.equal(reasons.length, 1);
  p.close();
});

test('a line that is not JSON closes the connection with a clear reason', async () => {
  const p = await peer(() => 'garbage that is not json\n');
  const rpc = new JsonRpcConnection(p.client, 5000);
  await assert.rejects(rpc.call('GetVersion', {}), /not JSON/);
  assert.equal(rpc.closed, true);
  p.close();
});
