// vscode-go's substitutePath: {from: local, to: remote}. Breakpoints go local → remote; stack
// frames come back remote → local. The longest matching prefix wins.
import type { SubstitutePathRule } from './attachConfig';

function rewrite(path: string, pairs: Array<[string, string]>): string {
  let best: [string, string] | undefined;
  for (const [a, b] of pairs) {
    if (!a) continue;
    const matches = path === a || path.startsWith(a.endsWith('/') ? a : a + '/');
    if (matches && (!best || a.length > best[0].length)) best = [a, b];
  }
  return best ? best[1] + path.slice(best[0].length) : path;
}

export function localToRemote(path: string, rules: readonly SubstitutePathRule[]): string {
  return rewrite(
    path,
    rules.map((r) => [r.from, r.to]),
  );
}

export function remoteToLocal(path: string, rules: readonly SubstitutePathRule[]): string {
  return rewrite(
    path,
    rules.map((r) => [r.to, r.from]),
  );
}
