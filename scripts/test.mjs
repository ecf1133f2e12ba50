// `npm test`: prepares the machine (scripts/setup.mjs) for the suites it runs, lints, then runs
// the test suites with node's test runner (TypeScript through tsx).
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
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
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

/**
 * What each suite needs from scripts/setup.mjs: npm packages (tsx, eslint, vscode-textmate, ...),
 * Debian packages (Go, Delve, OpenSSH, qemu-user-static, ...: the simulator, sshd, go test, the
 * grammar snapshots' go/dlv output) and Debian 13's Go/Delve (the e2e files that run both
 * toolchains). lint and unit never install Debian packages (unit files that want a Go skip,
 * saying why, when there is none). An unknown suite gets everything.
 */
const NEEDS = {
  lint: ['npm'],
  unit: ['npm'],
  go: ['debian'],
  grammar: ['npm', 'debian'],
  e2e: ['npm', 'debian', 'trixie'],
  ui: ['npm', 'debian'],
  arm64: ['npm', 'debian'],
};
const needed = new Set(suites.flatMap((s) => NEEDS[s] ?? ['npm', 'debian', 'trixie']));
if (needed.has('debian')) ensureDebianPackages();
if (needed.has('npm')) ensureNpmPackages();
if (needed.has('trixie')) ensureTrixieToolchain();

/**
 * Boots the emulated Pi for the arm64 suite; its state dir, or undefined when it cannot run here
 * (the files then say why, or boot their own).
 */
function startSharedPi() {
  if (process.env.BLUEPILL_PI_VM_STATE || process.env.BLUEPILL_PI_VM === '0') return undefined;
  // Waits on the recipe's lock for a build already under way (.ci/run starts one in the background).
  const t0 = Date.now();
  if (spawnSync('bash', ['scripts/pi-vm', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) return undefined;
  console.log(`arm64: the Pi image is ready (${Math.round((Date.now() - t0) / 1000)} s)`);
  const state = join(tmpdir(), `bluepill-pi-vm-shared-${process.pid}`);
  const started = spawnSync('bash', ['scripts/pi-vm', 'start', '--kvm', '--state', state], { stdio: ['ignore', 'ignore', 'inherit'] });
  return started.status === 0 ? state : undefined;
}

/** The suites whose tests start Delve. */
const STARTS_DELVE = ['go', 'e2e', 'ui', 'arm64'];

/** `dlv … --headless` processes of this user started during the last `seconds` (the tests start every Delve that way). */
function leftoverDebuggers(seconds) {
  const ps = spawnSync('ps', ['-o', 'pid=,etimes=,args=', '-u', String(process.getuid())], { encoding: 'utf8' });
  return (ps.stdout ?? '')
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S*dlv\s.*--headless.*)$/.exec(line))
    .filter((m) => m !== null && Number(m[2]) <= seconds)
    .map((m) => ({ pid: Number(m[1]), text: `${m[1]} ${m[3].slice(0, 200)}` }));
}

const failedSuites = [];
const timings = [];
for (const suite of suites) {
  const suiteStart = Date.now();
  let status;
  if (suite === 'lint') {
    // Biome checks the formatting (biome.json); ESLint the rules and the layers; tsc the types.
    status = run('npx', ['biome', 'format', '.']) || run('npx', ['eslint', '.']) || run('npx', ['tsc', '-p', '.', '--noEmit']);
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
      // e2e suites drive real processes (dlv, sshd, the simulator): one file at a time. A test that
      // hangs fails after 20 minutes, and a process a test leaked cannot keep the run alive.
      const concurrency = suite === 'unit' ? [] : ['--test-concurrency=1', '--test-timeout=1200000', '--test-force-exit'];
      // The arm64 files share one emulated Pi (with KVM, for real runsc): one boot, not one per file.
      const shared = suite === 'arm64' ? startSharedPi() : undefined;
      try {
        status = run(
          process.execPath,
          ['--import', 'tsx', '--test', ...concurrency, ...files],
          shared ? { env: { ...process.env, BLUEPILL_PI_VM_STATE: shared } } : {},
        );
      } finally {
        if (shared) spawnSync('bash', ['scripts/pi-vm', 'stop', '--state', shared], { stdio: 'inherit' });
      }
    }
  }
  // Only suites that start Delve look for one left behind: a lint run next to an e2e run must not
  // take (and kill) the e2e run's Delve for its own.
  const leaked = STARTS_DELVE.includes(suite) ? leftoverDebuggers(Math.ceil((Date.now() - suiteStart) / 1000) + 1) : [];
  if (leaked.length) {
    console.error(`\n${suite}: Delve processes left running after the suite (killed now):\n  ${leaked.map((l) => l.text).join('\n  ')}`);
    for (const l of leaked) {
      try {
        process.kill(l.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    status ||= 1;
  }
  if (status) failedSuites.push(suite);
  timings.push(`${suite} ${Math.round((Date.now() - suiteStart) / 1000)} s${status ? ' (failed)' : ''}`);
}
console.log(`\ntime per suite: ${timings.join(', ')}`);
console.log(
  `\nsuites: ${suites.length - failedSuites.length} passed, ${failedSuites.length} failed${failedSuites.length ? ` (${failedSuites.join(', ')})` : ''}`,
);
process.exit(failedSuites.length ? 1 : 0);
