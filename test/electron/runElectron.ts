// `npm run test:electron`: the extension-host suites of test/ext-tests in a desktop VS Code, with
// @vscode/test-electron, for people who have one (not in CI: this workplace cannot download VS
// Code). Set VSCODE_EXECUTABLE to a VS Code binary to skip the download.
import { runTests } from '@vscode/test-electron';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestExtensions } from '../ext-tests/build';
import { repoRoot } from '../support/repoRoot';

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const scratch = mkdtempSync(join(tmpdir(), 'bluepill-electron-'));
  await buildTestExtensions(join(scratch, 'ext'));
  const workspace = join(scratch, 'workspace');
  spawnSync('mkdir', ['-p', workspace]);
  writeFileSync(join(workspace, 'sample.objdump'), 'TEXT main.main(SB) /x/main.go\n  main.go:3\t0x401000\tc3\tRET\t\n');
  const resultsFile = join(scratch, 'results.json');
  await runTests({
    ...(process.env.VSCODE_EXECUTABLE ? { vscodeExecutablePath: process.env.VSCODE_EXECUTABLE } : {}),
    extensionDevelopmentPath: [repoRoot, ...['bluepill-tests', 'bluepill-warmup', 'bluepill-baseline'].map((d) => join(scratch, 'ext', d))],
    extensionTestsPath: join(__dirname, 'waitForResults.js'),
    extensionTestsEnv: { BLUEPILL_TESTS_RESULTS: resultsFile },
    launchArgs: [workspace, '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
  console.log(`test:electron: the extension-host suites passed (results in ${resultsFile})`);
}

main().catch((err: Error) => {
  console.error(`test:electron: ${err.message}`);
  console.error('Without network access to download VS Code, set VSCODE_EXECUTABLE to a VS Code binary.');
  process.exit(1);
});
