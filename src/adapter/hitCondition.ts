// DAP hit conditions ("5", ">5", "% 2", ">= 10") → Delve's HitCond ("> 5", "% 2", ">= 10").
// A bare number means "from the Nth hit on", as in Delve's own DAP server.

export function toDelveHitCond(dap: string | undefined): string | undefined {
  if (dap === undefined || dap.trim() === '') return undefined;
  const m = /^\s*(==|!=|>=|<=|>|<|%)?\s*(\d+)\s*$/.exec(dap);
  if (!m) throw new Error(`hit condition "${dap}" is not understood: use a number or one of ==, !=, >, >=, <, <=, % followed by a number`);
  return `${m[1] ?? '>='} ${m[2]}`;
}
