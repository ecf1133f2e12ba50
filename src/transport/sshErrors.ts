// OpenSSH reports failures only as stderr text and exit code 255. These turn the common ones
// into messages that say what happened and what to do.

export type SshFailureKind =
  | 'unknown-host'
  | 'host-key-changed'
  | 'host-key-unknown'
  | 'auth-failed'
  | 'connection-refused'
  | 'unreachable'
  | 'link-dropped'
  | 'other';

export class SshError extends Error {
  constructor(
    readonly kind: SshFailureKind,
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'SshError';
  }
}

function lastLines(text: string, n = 3): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .slice(-n)
    .join(' | ');
}

export function describeSshFailure(stderr: string, destination: string): SshError {
  const s = stderr;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(s)) {
    return new SshError(
      'host-key-changed',
      `The host key of ${destination} does not match the one in known_hosts (REMOTE HOST IDENTIFICATION HAS CHANGED). If the target was reinstalled, remove the old key with "ssh-keygen -R <host>" and connect once with "ssh ${destination}" in a terminal to check and accept the new key; otherwise someone may be intercepting the connection.`,
      s,
    );
  }
  if (/Could not resolve hostname|Name or service not known|nodename nor servname/i.test(s)) {
    return new SshError(
      'unknown-host',
      `Cannot find the host "${destination}": ${lastLines(s, 1)}. Check "ssh": a host name, user@host, or a Host alias defined in your ~/.ssh/config.`,
      s,
    );
  }
  if (/Host key verification failed|No (\S+ )?host key is known|host key is not known/i.test(s)) {
    return new SshError(
      'host-key-unknown',
      `${destination}'s host key is not in known_hosts, and the adapter runs ssh in BatchMode so it cannot ask. Connect once with "ssh ${destination}" in a terminal, check the fingerprint and accept it, then try again.`,
      s,
    );
  }
  if (/Permission denied|Too many authentication failures|no supported authentication methods/i.test(s)) {
    return new SshError(
      'auth-failed',
      `SSH authentication to ${destination} failed (${lastLines(s, 1)}). The adapter runs ssh in BatchMode and cannot ask for a password or passphrase: set up key login ("ssh-copy-id ${destination}") and load the key into ssh-agent (or set IdentityFile in ~/.ssh/config).`,
      s,
    );
  }
  if (/Connection refused/i.test(s)) {
    return new SshError('connection-refused', `${destination} refused the SSH connection: is sshd running there, and is the port right?`, s);
  }
  if (/timed out|No route to host|Network is unreachable|Connection reset|Connection closed by|Broken pipe|client_loop/i.test(s)) {
    return new SshError(
      'unreachable',
      `The SSH connection to ${destination} failed or dropped: ${lastLines(s, 1)}. Check that the target is up and reachable.`,
      s,
    );
  }
  return new SshError('other', `ssh to ${destination} failed: ${lastLines(s) || 'no message from ssh'}`, s);
}
