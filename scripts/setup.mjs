// Brings a fresh Debian/Ubuntu machine (Node 20 + git) to what the demo and the tests need:
// npm packages (npm ci) and Debian packages (Go, Delve, OpenSSH, ...). Idempotent and quiet
// when everything is there. Uses only Node built-ins, so it runs before `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package → a file that proves it is installed. */
const DEBIAN_PACKAGES = {
  'golang-go': '/usr/bin/go',
  delve: '/usr/bin/dlv',
  'openssh-server': '/usr/sbin/sshd',
  'openssh-client': '/usr/bin/ssh',
  procps: '/usr/bin/ps',
  sudo: '/usr/bin/sudo',
  'qemu-user-static': '/usr/bin/qemu-aarch64-static',
};

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status === 0;
}

export function ensureNpmPackages() {
  if (existsSync('node_modules/.package-lock.json') && existsSync('node_modules/tsx')) return;
  console.log('setup: installing npm packages (npm ci)');
  if (!sh('npm', ['ci', '--no-audit', '--no-fund'])) throw new Error('setup: npm ci failed');
}

export function ensureDebianPackages(extra = {}) {
  const wanted = { ...DEBIAN_PACKAGES, ...extra };
  const missing = Object.entries(wanted)
    .filter(([, file]) => !existsSync(file))
    .map(([pkg]) => pkg);
  if (!missing.length) return;
  const isRoot = process.getuid?.() === 0;
  const prefix = isRoot ? [] : ['sudo', '-n'];
  if (!isRoot && !sh('sudo', ['-n', 'true'], { stdio: 'ignore' })) {
    throw new Error(`setup: these Debian packages are missing: ${missing.join(' ')}. Install them (sudo apt-get install ${missing.join(' ')}) or run as root.`);
  }
  console.log(`setup: installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!sh(prefix[0] ?? 'apt-get', [...prefix.slice(1), ...(prefix.length ? ['apt-get'] : []), 'update', '-qq'], { env }))
    throw new Error('setup: apt-get update failed');
  if (!sh(prefix[0] ?? 'apt-get', [...prefix.slice(1), ...(prefix.length ? ['apt-get'] : []), 'install', '-y', '-qq', ...missing], { env })) {
    throw new Error(`setup: apt-get install ${missing.join(' ')} failed`);
  }
}

/** Debian 13's Go 1.24 + Delve 1.24, unpacked privately (the system stays Debian 12). */
export function ensureTrixieToolchain() {
  if (!sh('bash', ['scripts/toolchains.sh', 'trixie'], { stdio: ['ignore', 'ignore', 'inherit'] })) {
    console.warn('setup: Debian 13 toolchain unavailable; the tests that need it will say so and skip');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureDebianPackages();
  ensureNpmPackages();
  ensureTrixieToolchain();
}
