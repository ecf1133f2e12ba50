// Quoting for the one place where our values meet a shell: the remote command line that sshd
// hands to the login shell. Every word is single-quoted, so nothing in it is ever interpreted.

/** One word for a POSIX shell: 'it'\''s' style. Empty strings become ''. */
export function shellQuote(word: string): string {
  if (word.includes('\0')) throw new Error('a shell word cannot contain a NUL byte');
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Like shellQuote, but a leading "~/" stays outside the quotes so the login shell expands it to
 * the login user's home (the rest is quoted; "~/" followed by a quoted word expands nothing else).
 */
export function shellQuoteHomePath(path: string): string {
  return path.startsWith('~/') ? `~/${shellQuote(path.slice(2))}` : shellQuote(path);
}

/** A whole command line: every argv element quoted, joined by spaces. */
export function shellQuoteArgv(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
