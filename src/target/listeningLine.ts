// Delve prints "API server listening at: <addr>" once its headless server is up
// (logflags.WriteAPIListeningMessage). For a unix socket <addr> is the bare path.

export type DelveListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

const LINE = /API server listening at: (\S+)/;

export function parseListeningLine(text: string): DelveListenAddress | undefined {
  const m = LINE.exec(text);
  if (!m) return undefined;
  const addr = m[1];
  if (addr.startsWith('/')) return { kind: 'unix', path: addr };
  const colon = addr.lastIndexOf(':');
  if (colon < 0) return undefined;
  const host = addr.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(addr.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { kind: 'tcp', host, port };
}

/** True for addresses that only this machine can reach; Delve must never listen anywhere else. */
export function isLoopback(addr: DelveListenAddress): boolean {
  if (addr.kind === 'unix') return true;
  return addr.host === '127.0.0.1' || addr.host === '::1' || addr.host === 'localhost' || /^127\./.test(addr.host);
}
