// A command's stdout as bytes (runner.run decodes text): binaries and parts of them.
import type { CommandRunner } from './commandRunner';

/** Runs argv on the target and collects stdout; with `limit`, stops the command once that much arrived. */
export function readBytes(runner: CommandRunner, argv: string[], asRoot: boolean, limit?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = runner.spawn(argv, { asRoot });
    const parts: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      parts.push(b);
      size += b.length;
      if (limit !== undefined && size >= limit) child.kill();
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0 || (limit !== undefined && size >= limit)) resolve(Buffer.concat(parts));
      else reject(new Error(`${argv.join(' ')} on ${runner.where} failed (exit ${code}): ${stderr.trim().slice(0, 300)}`));
    });
  });
}
