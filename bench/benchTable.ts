// One row of a benchmark: our measurement next to a baseline measured in the same run.
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** What the baseline is, e.g. "raw TCP JSON round trip". */
  baselineName?: string;
  baseline: number;
  /** value / baseline for costs (lower is better) or baseline / value, as the benchmark states in `name`. */
  ratio: number;
}

export function formatTable(rows: BenchRow[]): string {
  const head = ['benchmark', 'value', 'baseline', 'ratio'];
  const body = rows.map((r) => [
    r.name,
    `${fmt(r.value)} ${r.unit}`,
    `${fmt(r.baseline)} ${r.unit}${r.baselineName ? ` (${r.baselineName})` : ''}`,
    `${r.ratio.toFixed(2)}×`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
