// `npm run bench`: runs every benchmark module in bench/ (each exports run(): Promise<BenchRow[]>)
// and prints one table. Pass names to run some: `npm run bench -- delveClient`.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatTable, type BenchRow } from './benchTable';

const only = process.argv.slice(2);
const dir = __dirname;
const modules = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && f !== 'benchTable.ts')
  .filter((f) => !only.length || only.some((o) => f.startsWith(o)))
  .sort();

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  for (const file of modules) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { run?: () => Promise<BenchRow[]> };
    if (typeof mod.run !== 'function') continue;
    console.error(`bench: ${file} …`);
    try {
      rows.push(...(await mod.run()));
    } catch (err) {
      console.error(`bench: ${file} failed: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  }
  console.log(formatTable(rows));
}

void main();
