// `npm test`: prepares the machine (scripts/setup.mjs), lints, then runs the test suites with
// node's test runner (TypeScript through tsx).
// Usage: node scripts/test.mjs [suite...]   suites: lint, unit, go, grammar, e2e, ui, arm64 (default: all of them)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ensureDebianPackages, ensureNpmPackages, ensureTrixieToolchain } from './setup.mjs';

const all = ['lint', 'unit', 'go', 'grammar', 'e2e', 'ui', 'arm64'];
const suites = process.argv.slice(2).length ? process.argv.slice(2) : all;

function findTests(dir) {
  const out = [];
  let names;
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

ensureDebianPackages();
ensureNpmPackages();
ensureTrixieToolchain();

/**
 * Boots the emulated Pi for the arm64 suite; its state dir, or undefined when it cannot run here
 * (the files then say why, or boot their own).
 */
function startSharedPi() {
  if (process.env.BLUEPILL_PI_VM_STATE || process.env.BLUEPILL_PI_VM === '0') return undefined;
  if (spawnSync('bash', ['scripts/pi-vm', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) return undefined;
  const state = join(tmpdir(), `bluepill-pi-vm-shared-${process.pid}`);
  const started = spawnSync('bash', ['scripts/pi-vm', 'start', '--kvm', '--state', state], { stdio: ['ignore', 'ignore', 'inherit'] });
  return started.status === 0 ? state : undefined;
}

const failedSuites = [];
const timings = [];
for (const suite of suites) {
  const suiteStart = Date.now();
  let status;
  if (suite === 'lint') {
    status = run('npx', ['eslint', '.']) || run('npx', ['tsc', '-p', '.', '--noEmit']);
  } else if (suite === 'grammar') {
    status = run(process.execPath, ['scripts/test-grammar.mjs']);
  } else if (suite === 'go') {
    status = run('go', ['test', '-count=1', './...'], { cwd: 'test/fixtures/bluepill-sim' });
    // The KVM stand-in's own tests run real runsc (scripts/runsc) when there is one.
    const runsc = spawnSync('bash', ['scripts/runsc', 'build'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const amd64 = /^RUNSC_AMD64=(.*)$/m.exec(runsc.stdout ?? '')?.[1];
    const env = { ...process.env, ...(amd64 ? { RUNSC: amd64 } : {}), DLV: '/usr/bin/dlv' };
    status ||= run('go', ['test', '-count=1', '.'], { cwd: 'test/fixtures/kvm-standin', env });
  } else {
    const files = findTests(join('test', suite));
    if (!files.length) {
      console.error(`no test files in test/${suite}`);
      status = 1;
    } else {
      // e2e suites drive real processes (dlv, sshd, the simulator): one file at a time.
      const concurrency = suite === 'unit' ? [] : ['--test-concurrency=1'];
      // The arm64 files share one emulated Pi (with KVM, for real runsc): one boot, not one per file.
      const shared = suite === 'arm64' ? startSharedPi() : undefined;
      try {
        status = run(process.execPath, ['--import', 'tsx', '--test', ...concurrency, ...files], shared ? { env: { ...process.env, BLUEPILL_PI_VM_STATE: shared } } : {});
      } finally {
        if (shared) spawnSync('bash', ['scripts/pi-vm', 'stop', '--state', shared], { stdio: 'inherit' });
      }
    }
  }
  if (status) failedSuites.push(suite);
  timings.push(`${suite} ${Math.round((Date.now() - suiteStart) / 1000)} s${status ? ' (failed)' : ''}`);
}
console.log(`\ntime per suite: ${timings.join(', ')}`);
console.log(`\nsuites: ${suites.length - failedSuites.length} passed, ${failedSuites.length} failed${failedSuites.length ? ` (${failedSuites.join(', ')})` : ''}`);
process.exit(failedSuites.length ? 1 : 0);
