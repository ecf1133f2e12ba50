// A private sshd on 127.0.0.1 for e2e tests: its own config, host key, user keys and
// authorized_keys in a temp dir; the system's sshd config is never read or touched. The client
// side gets an ssh_config (-F) with one Host alias per scenario. When running as root it also
// makes two non-root users: `bluepilltest` (passwordless sudo) and `bluepilltest2` (sudo wants a
// password). Creating them is idempotent; they stay for the next run.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StopWaiting, waitFor } from './waitFor';

export const SUDO_USER = 'bluepilltest';
export const PASSWORD_SUDO_USER = 'bluepilltest2';

/** Host aliases in the client config, one per scenario. */
export const HOSTS = {
  /** root login, correct keys. */
  root: 'bluepill-root',
  /** bluepilltest, passwordless sudo. */
  user: 'bluepill-user',
  /** bluepilltest2, sudo asks for a password. */
  passwordSudo: 'bluepill-pw',
  /** root, but known_hosts holds a different key for the server. */
  changedHostKey: 'bluepill-badkey',
  /** root, with a key the server does not accept. */
  wrongUserKey: 'bluepill-nokey',
  /** root, with an empty known_hosts. */
  unknownHostKey: 'bluepill-newhost',
} as const;

export interface TestSshd {
  port: number;
  dir: string;
  /** Pass as "sshConfigFile" (ssh -F). */
  clientConfig: string;
  stop(): Promise<void>;
  log(): string;
}

/** Why e2e SSH tests cannot run here, or undefined when they can. */
export function sshdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root: the test sshd creates users and a sudoers drop-in';
  if (!existsSync('/usr/sbin/sshd')) return '/usr/sbin/sshd is not installed (apt install openssh-server)';
  if (!existsSync('/usr/bin/sudo')) return 'sudo is not installed (apt install sudo)';
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function keygen(path: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bluepill-test', '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

function userExists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Creates the test users and their sudoers drop-in (idempotent). */
export function ensureTestUsers(): void {
  for (const user of [SUDO_USER, PASSWORD_SUDO_USER]) {
    if (!userExists(user)) execFileSync('useradd', ['-m', '-s', '/bin/bash', user]);
    // '*' = no password, but not "locked" (sshd without PAM refuses locked accounts).
    execFileSync('usermod', ['-p', '*', user]);
  }
  const sudoers = `# bluepill-debug e2e tests\n${SUDO_USER} ALL=(root) NOPASSWD: ALL\n${PASSWORD_SUDO_USER} ALL=(root) ALL\n`;
  const path = '/etc/sudoers.d/bluepill-debug-test';
  if (!existsSync(path) || readFileSync(path, 'utf8') !== sudoers) {
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, sudoers, { mode: 0o440 });
    execFileSync('visudo', ['-c', '-q', '-f', tmp]);
    execFileSync('mv', [tmp, path]);
  }
}

export async function startSshd(): Promise<TestSshd> {
  const why = sshdUnavailable();
  if (why) throw new Error(`cannot start the test sshd: ${why}`);
  ensureTestUsers();
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'bluepill-sshd-'));
  chmodSync(dir, 0o755); // the non-root users' sshd child reads authorized_keys from here
  const port = await freePort();
  const hostKey = join(dir, 'host_ed25519');
  const hostPub = keygen(hostKey);
  const otherHostPub = keygen(join(dir, 'other_host_ed25519'));
  const userKey = join(dir, 'user_ed25519');
  const userPub = keygen(userKey);
  const strangerKey = join(dir, 'stranger_ed25519');
  keygen(strangerKey);
  writeFileSync(join(dir, 'authorized_keys'), userPub + '\n', { mode: 0o644 });
  const hostName = `[127.0.0.1]:${port}`;
  const hostKeyLine = (pub: string): string => `${hostName} ${pub.split(' ').slice(0, 2).join(' ')}\n`;
  writeFileSync(join(dir, 'known_hosts'), hostKeyLine(hostPub));
  writeFileSync(join(dir, 'known_hosts_changed'), hostKeyLine(otherHostPub));
  writeFileSync(join(dir, 'known_hosts_empty'), '');
  const sshdConfig = join(dir, 'sshd_config');
  writeFileSync(
    sshdConfig,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      `AllowUsers root ${SUDO_USER} ${PASSWORD_SUDO_USER}`,
      'MaxSessions 50',
      'MaxStartups 50',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const host = (alias: string, user: string, knownHosts: string, identity: string): string =>
    [
      `Host ${alias}`,
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      `  User ${user}`,
      `  IdentityFile ${identity}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, knownHosts)}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '',
    ].join('\n');
  const clientConfig = join(dir, 'ssh_config');
  writeFileSync(
    clientConfig,
    [
      host(HOSTS.root, 'root', 'known_hosts', userKey),
      host(HOSTS.user, SUDO_USER, 'known_hosts', userKey),
      host(HOSTS.passwordSudo, PASSWORD_SUDO_USER, 'known_hosts', userKey),
      host(HOSTS.changedHostKey, 'root', 'known_hosts_changed', userKey),
      host(HOSTS.wrongUserKey, 'root', 'known_hosts', strangerKey),
      host(HOSTS.unknownHostKey, 'root', 'known_hosts_empty', userKey),
    ].join('\n'),
  );

  let log = '';
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', sshdConfig], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  // Ready when it accepts a login.
  await waitFor(
    () => `the test sshd to accept a login\n${log}`,
    () => {
      if (child.exitCode !== null) throw new StopWaiting(`sshd exited: ${log}`);
      execFileSync('ssh', ['-F', clientConfig, '--', HOSTS.root, 'true'], { stdio: 'pipe', timeout: 10_000 });
      return true;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  return {
    port,
    dir,
    clientConfig,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('close', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
