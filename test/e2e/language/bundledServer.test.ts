// The bundled server (dist/languageServer.js, what the extension starts) answers like the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, hoverText, LanguageServerProcess, positionOf } from '../../support/languageServerProcess';
import { repoRoot } from '../../support/repoRoot';

test('dist/languageServer.js --stdio: hover on an address', async (t) => {
  // A fresh clone has no dist/: bundle it the way `npm run build` does.
  if (!existsSync(join(repoRoot, 'dist', 'languageServer.js'))) {
    t.diagnostic('dist/languageServer.js not built: running scripts/build.mjs');
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  }
  const dump = readFileSync(join(FIXTURES, 'objdump_panicdemo_amd64_go1.19.txt'), 'utf8');
  const server = await LanguageServerProcess.start({ bundled: true });
  try {
    await server.open('file:///work/panicdemo.objdump', 'go-objdump', dump);
    const at = positionOf(dump, '0x460631', 3);
    assert.match(hoverText(await server.hover('file:///work/panicdemo.objdump', at.line, at.character)), /main\.index\+0x31/);
  } finally {
    await server.stop();
  }
  assert.equal(server.unexpectedExit, undefined);
});
