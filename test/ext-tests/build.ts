// Builds the two test-only extensions as .vsix files for code-server's `--install-extension`
// (which takes a .vsix or a Marketplace id, not a folder): the suite runner (bundled with esbuild,
// `vscode` left external) and an empty baseline extension whose activation time is the
// yardstick for ours.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';

const here = resolve(__dirname);
const vsceCli = join(here, '..', '..', 'node_modules', '@vscode', 'vsce', 'vsce');

export interface TestExtensions {
  runnerVsix: string;
  baselineVsix: string;
}

const BASELINE_MANIFEST = {
  name: 'bluepill-baseline',
  displayName: 'Bluepill Debug: baseline (test only)',
  description: 'An extension that does nothing: its activation time is the baseline for ours.',
  version: '0.0.1',
  publisher: 'bluepill-debug',
  license: 'MIT',
  engines: { vscode: '^1.90.0' },
  main: './main.js',
  // Never fired: only the runner's explicit activate() wakes it, so that activation is timed.
  activationEvents: ['onCommand:bluepillBaseline.never'],
};

const BASELINE_MAIN = `"use strict";
exports.activate = function activate() {};
exports.deactivate = function deactivate() {};
`;

// vsce works offline with --no-dependencies; the flags stop it from prompting about the
// repository and license fields a test-only extension does not need.
function packageVsix(folder: string, vsix: string): string {
  execFileSync(process.execPath, [vsceCli, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix], {
    cwd: folder,
    stdio: ['ignore', 'ignore', 'pipe'],
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

  const baselineDir = join(outDir, 'bluepill-baseline');
  mkdirSync(baselineDir, { recursive: true });
  writeFileSync(join(baselineDir, 'package.json'), JSON.stringify(BASELINE_MANIFEST, null, 2));
  writeFileSync(join(baselineDir, 'main.js'), BASELINE_MAIN);
  return {
    runnerVsix: packageVsix(runnerDir, join(outDir, 'bluepill-tests.vsix')),
    baselineVsix: packageVsix(baselineDir, join(outDir, 'bluepill-baseline.vsix')),
  };
}
