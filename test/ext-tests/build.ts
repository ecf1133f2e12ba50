// Builds the test-only extensions as .vsix files for code-server's `--install-extension` (which
// takes a .vsix or a Marketplace id, not a folder): the suite runner (bundled with esbuild,
// `vscode` left external) and two empty extensions for timing ours against.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { repoRoot } from '../support/repoRoot';

const here = resolve(__dirname);
const vsceCli = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');

export interface TestExtensions {
  runnerVsix: string;
  warmupVsix: string;
  baselineVsix: string;
}

// An extension that does nothing, activated only by the runner's explicit activate() (its event
// never fires). Two of them: the first absorbs the extension host's first-activation warm-up,
// the second is the baseline ours is compared with.
function trivialManifest(name: string): Record<string, unknown> {
  return {
    name,
    displayName: `Bluepill Debug: ${name} (test only)`,
    description: 'An extension that does nothing: its activation time is the yardstick for ours.',
    version: '0.0.1',
    publisher: 'bluepill-debug',
    license: 'MIT',
    engines: { vscode: '^1.90.0' },
    main: './main.js',
    activationEvents: [`onCommand:${name}.never`],
  };
}

const TRIVIAL_MAIN = `"use strict";
exports.activate = function activate() {};
exports.deactivate = function deactivate() {};
`;

// vsce works offline with --no-dependencies; the flags stop it from prompting about the
// repository and license fields a test-only extension does not need.
async function packageVsix(folder: string, vsix: string): Promise<string> {
  await promisify(execFile)(process.execPath, [vsceCli, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix], {
    cwd: folder,
  });
  return vsix;
}

export async function buildTestExtensions(outDir: string): Promise<TestExtensions> {
  const runnerDir = join(outDir, 'bluepill-tests');
  mkdirSync(join(runnerDir, 'dist'), { recursive: true });
  await esbuild.build({
    entryPoints: [join(here, 'src', 'main.ts')],
    outfile: join(runnerDir, 'dist', 'main.js'),
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    external: ['vscode'],
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'package.json'), join(runnerDir, 'package.json'));

  // vsce takes ~2 s per package here: package the three side by side.
  const [runnerVsix, warmupVsix, baselineVsix] = await Promise.all([
    packageVsix(runnerDir, join(outDir, 'bluepill-tests.vsix')),
    trivialExtension(outDir, 'bluepill-warmup'),
    trivialExtension(outDir, 'bluepill-baseline'),
  ]);
  return { runnerVsix, warmupVsix, baselineVsix };
}

function trivialExtension(outDir: string, name: string): Promise<string> {
  const dir = join(outDir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(trivialManifest(name), null, 2));
  writeFileSync(join(dir, 'main.js'), TRIVIAL_MAIN);
  return packageVsix(dir, join(outDir, `${name}.vsix`));
}
