// Reaching a target machine (this one, or over SSH with the user's own OpenSSH config) and
// listing the gVisor sandboxes that run there. Nothing here talks to Delve.
import type { ResolvedAttachConfig } from '../config/attachConfig';
import type { CommandRunner } from './commandRunner';
import { LocalRunner } from './localRunner';
import { listLocalSandboxes } from './localSandboxes';
import { LIST_SANDBOXES_SCRIPT, parseSandboxListing } from './remoteSandboxes';
import type { SandboxProcess } from './sandboxProcess';
import { SshRunner } from './sshTransport';

export async function openRunner(config: Pick<ResolvedAttachConfig, 'ssh' | 'sshConfigFile'>): Promise<CommandRunner> {
  if (config.ssh === undefined) return new LocalRunner();
  return SshRunner.open({ destination: config.ssh, configFile: config.sshConfigFile });
}

export async function listSandboxes(runner: CommandRunner): Promise<SandboxProcess[]> {
  if (runner.isLocal) return listLocalSandboxes();
  const r = await runner.run(['sh', '-c', LIST_SANDBOXES_SCRIPT], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`Listing sandboxes on ${runner.where} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`);
  return parseSandboxListing(r.stdout);
}
