// Runs programs on this machine, without a shell.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { homedir } from 'node:os';
import { collect, withRoot, type CommandResult, type CommandRunner, type RunOptions, type SpawnOptions } from './commandRunner';

export class LocalRunner implements CommandRunner {
  readonly where = 'this machine';
  readonly isLocal = true;

  spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcessWithoutNullStreams {
    const words = withRoot(argv, options.asRoot).map((w) => (w.startsWith('~/') ? homedir() + w.slice(1) : w));
    return spawn(words[0], words.slice(1), { stdio: 'pipe' });
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return collect(this.spawn(argv, options), this.where, argv[0], options.timeoutMs ?? 30_000).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return { code: 127, signal: null, stdout: '', stderr: `${argv[0]}: not found` };
      throw err;
    });
  }

  async close(): Promise<void> {}
}
