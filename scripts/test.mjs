// Runs the test suites with node's test runner (TypeScript through tsx).
// Usage: node scripts/test.mjs [suite...]   suites: unit, e2e, go (default: all of them)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const all = ['unit', 'go', 'e2e'];
const suites = process.argv.slice(2).length ? process.argv.slice(2) : all;

function findTests(dir) {
  const out = [];
  let names = [];
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

function run(cmd, args, opts = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

let failed = 0;
for (const suite of suites) {
  if (suite === 'go') {
    failed += run('go', ['test', '-count=1', './...'], { cwd: 'test/fixtures/bluepill-sim' }) ? 1 : 0;
    continue;
  }
  const files = findTests(join('test', suite));
  if (!files.length) {
    console.error(`no test files in test/${suite}`);
    failed++;
    continue;
  }
  // e2e suites share real processes (dlv, sshd): run files one at a time.
  const concurrency = suite === 'unit' ? [] : ['--test-concurrency=1'];
  failed += run(process.execPath, ['--import', 'tsx', '--test', ...concurrency, ...files]) ? 1 : 0;
}
process.exit(failed ? 1 : 0);
