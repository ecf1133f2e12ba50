// Logpoint messages: "x is {x}, y is {p.y}" — every {expr} is evaluated at the hit.

export type MessagePart = { text: string } | { expr: string };

export function parseLogMessage(message: string): MessagePart[] {
  const parts: MessagePart[] = [];
  let i = 0;
  while (i < message.length) {
    const open = message.indexOf('{', i);
    if (open < 0) break;
    const close = message.indexOf('}', open + 1);
    if (close < 0) break;
    if (open > i) parts.push({ text: message.slice(i, open) });
    const expr = message.slice(open + 1, close).trim();
    parts.push(expr ? { expr } : { text: '{}' });
    i = close + 1;
  }
  if (i < message.length) parts.push({ text: message.slice(i) });
  return parts;
}

export async function renderLogMessage(parts: readonly MessagePart[], evaluate: (expr: string) => Promise<string>): Promise<string> {
  const out: string[] = [];
  for (const p of parts) {
    if ('text' in p) out.push(p.text);
    else out.push(await evaluate(p.expr).catch((err: Error) => `<${err.message}>`));
  }
  return out.join('');
}
