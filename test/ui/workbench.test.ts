// The packaged extension in a real VS Code (code-server) driven by a real browser: the
// extension-host suites pass, its commands reach the palette, a .objdump file opens as Go objdump,
// is highlighted, and its addresses answer hover and go to definition, also from a Markdown note.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, describeFailures, packagedExtension, startSession } from '../ext-tests/harness';
import { EXTENSION_UNDER_TEST_ID } from '../ext-tests/src/results';
import {
  cursorPosition,
  ensureCodeServer,
  goToDefinition,
  hoverText,
  lineTokens,
  openFile,
  paletteEntries,
  removeOnExit,
  statusBarLanguage,
  uiPrerequisiteProblem,
} from '../support/codeServer';
import { repoRoot } from '../support/repoRoot';
import { waitFor } from '../support/waitFor';

// `go tool objdump -s 'main\.'` of a tiny demo (Go 1.19, amd64), exact bytes with trailing tabs.
const SAMPLE = join(__dirname, 'fixtures', 'sample.objdump');
// A debugging note that mentions an address of the sample.
const NOTE = join(__dirname, 'fixtures', 'note.md');
const NOTE_LINE = 'the thread stopped at';
const GRAMMAR = join(repoRoot, 'syntaxes', 'go-objdump.tmLanguage.json');
const INSTRUCTION = 'CMPQ 0x10(R14), SP';
// A branch inside main.(*Counter).Add, whose target is the function's last instruction.
const BRANCH = 'JBE 0x48470f';
const BRANCH_TARGET = '0x48470f';

/** 1-based line of the sample whose address column is `address`. */
function lineOfAddress(address: string): number {
  const lines = readFileSync(SAMPLE, 'utf8').split('\n');
  const index = lines.findIndex((l) => l.split('\t').filter(Boolean)[1] === address);
  assert.ok(index >= 0, `${address} is not an instruction address of the sample`);
  return index + 1;
}

interface Manifest {
  contributes?: {
    commands?: { command: string; title: string; category?: string }[];
    grammars?: { language?: string; path: string }[];
    menus?: { commandPalette?: { command: string; when?: string }[] };
  };
}

/** The manifest of our extension as installed in code-server: what is tested is what was packaged. */
function installedManifest(extensionsDir: string): Manifest {
  const dir = readdirSync(extensionsDir).find((d) => d.startsWith(`${EXTENSION_UNDER_TEST_ID}-`));
  assert.ok(dir, `${EXTENSION_UNDER_TEST_ID} is not in ${extensionsDir}`);
  return JSON.parse(readFileSync(join(extensionsDir, dir, 'package.json'), 'utf8')) as Manifest;
}

describe('bluepill-debug in code-server', { concurrency: 1 }, () => {
  let skipReason: string | undefined;
  let session: Session | undefined;
  let workspace: string | undefined;

  before(
    async () => {
      skipReason = uiPrerequisiteProblem();
      if (!skipReason) {
        const codeServer = ensureCodeServer();
        if ('reason' in codeServer) skipReason = codeServer.reason;
      }
      if (skipReason) {
        console.log(`# skipping the UI tests: ${skipReason}`);
        return;
      }
      workspace = removeOnExit(mkdtempSync(join(tmpdir(), 'bluepill-ui-ws-')));
      copyFileSync(SAMPLE, join(workspace, 'sample.objdump'));
      copyFileSync(NOTE, join(workspace, 'note.md'));
      session = await startSession({ vsix: packagedExtension(), workspaceFolder: workspace });
    },
    { timeout: 900_000 },
  );

  after(async () => {
    await session?.close();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  const live = (): Session => {
    assert.ok(session, 'no code-server session');
    return session;
  };

  test('the extension-host suites all pass', { timeout: 120_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const { results, workbench } = live();
    await workbench.screenshot('01-workbench');
    assert.equal(results.vscodeVersion, '1.100.3');
    assert.equal(results.runnerError, undefined, describeFailures(results));
    assert.equal(results.failed, 0, describeFailures(results));
    // A runner that ran nothing must not pass.
    assert.ok(results.passed >= 5, `only ${results.passed} extension-host tests passed`);
  });

  test('the command palette lists the contributed commands it should', { timeout: 180_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const { workbench, server } = live();
    const manifest = installedManifest(server.extensionsDir);
    const commands = manifest.contributes?.commands ?? [];
    assert.ok(commands.length > 0, 'package.json contributes no commands');
    // A commandPalette `when` decides: "false" hides a command for good, others depend on state.
    const paletteWhen = new Map((manifest.contributes?.menus?.commandPalette ?? []).map((m) => [m.command, m.when]));
    for (const c of commands) {
      const when = paletteWhen.get(c.command);
      if (when !== undefined && when !== 'false') continue;
      const label = c.category ? `${c.category}: ${c.title}` : c.title;
      const rows = await paletteEntries(workbench.page, label);
      const listed = rows.some((r) => r.includes(label));
      if (when === 'false') assert.ok(!listed, `"${label}" is hidden from the palette but listed`);
      else assert.ok(listed, `palette has no "${label}"; it lists: ${rows.join(' | ')}`);
    }
  });

  test('a .objdump file opens in the Go objdump language', { timeout: 120_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const { workbench } = live();
    await openFile(workbench.page, 'sample.objdump');
    // The status bar follows the editor asynchronously; wait for it to settle, then assert.
    const shown = await waitFor(
      'the language mode in the status bar',
      async () => {
        const text = await statusBarLanguage(workbench.page);
        return text === 'Go objdump' ? text : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch(() => statusBarLanguage(workbench.page));
    await workbench.screenshot('02-objdump-language');
    assert.equal(shown, 'Go objdump');
  });

  test('objdump instruction lines are highlighted with more than one token class', { timeout: 120_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    if (!existsSync(GRAMMAR)) return t.skip('syntaxes/go-objdump.tmLanguage.json does not exist yet');
    const { workbench, server } = live();
    if (!installedManifest(server.extensionsDir).contributes?.grammars?.some((g) => g.language === 'go-objdump')) {
      return t.skip('package.json does not contribute the go-objdump grammar yet');
    }
    await openFile(workbench.page, 'sample.objdump');
    // Tokenisation runs after the first paint: poll until the spans split, then assert.
    const distinct = async (): Promise<string[]> => {
      const spans = await lineTokens(workbench.page, INSTRUCTION);
      return [...new Set(spans.flatMap((s) => s.classes).filter((c) => /^mtk\d+$/.test(c)))];
    };
    const classes = await waitFor(
      'the instruction line to be tokenised',
      async () => {
        const c = await distinct();
        return c.length > 1 ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch(distinct);
    await workbench.screenshot('03-objdump-highlighted');
    assert.ok(classes.length > 1, `the line "${INSTRUCTION}" carries only ${classes.join(', ')}`);
  });

  test('hovering a branch target names its symbol', { timeout: 120_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const { workbench } = live();
    await openFile(workbench.page, 'sample.objdump');
    // The language server indexes the dump after opening it: hover until the symbol shows.
    const text = await waitFor(
      'a hover naming the symbol',
      async () => {
        const shown = await hoverText(workbench.page, BRANCH, BRANCH_TARGET, 5_000).catch(() => '');
        return shown.includes('main.(*Counter).Add+0xef') ? shown : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch(() => hoverText(workbench.page, BRANCH, BRANCH_TARGET, 10_000));
    await workbench.screenshot('04-objdump-hover');
    assert.match(text, /main\.\(\*Counter\)\.Add\+0xef/);
    await workbench.page.keyboard.press('Escape');
  });

  test('go to definition on a branch target jumps to that instruction', { timeout: 120_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const { workbench } = live();
    await openFile(workbench.page, 'sample.objdump');
    const expected = lineOfAddress(BRANCH_TARGET);
    await goToDefinition(workbench.page, BRANCH, BRANCH_TARGET);
    const line = await waitFor(
      'the cursor to move to the target',
      async () => {
        const at = await cursorPosition(workbench.page);
        return at.line === expected ? at.line : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch(async () => (await cursorPosition(workbench.page)).line);
    await workbench.screenshot('05-objdump-definition');
    assert.equal(line, expected);
  });

  test('hovering an address in a Markdown note names its symbol from the open dump', { timeout: 120_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const { workbench } = live();
    // The dump is the symbol source: it is open in an editor, as a user would have it.
    await openFile(workbench.page, 'sample.objdump');
    await openFile(workbench.page, 'note.md');
    const text = await waitFor(
      'a hover naming the symbol',
      async () => {
        const shown = await hoverText(workbench.page, NOTE_LINE, BRANCH_TARGET, 5_000).catch(() => '');
        return shown.includes('main.(*Counter).Add+0xef') ? shown : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch(() => hoverText(workbench.page, NOTE_LINE, BRANCH_TARGET, 10_000));
    await workbench.screenshot('06-markdown-hover');
    assert.match(text, /main\.\(\*Counter\)\.Add\+0xef/);
  });
});
