// A real VS Code for tests: code-server (installed by scripts/code-server) serving fresh user-data
// and extension dirs, driven through Debian's chromium by playwright-core. Every process started
// here runs in its own process group and is killed as a group, also when the test process exits.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { Dirent, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, Page, chromium } from 'playwright-core';
import { repoRoot } from './repoRoot';
import { StopWaiting, waitFor } from './waitFor';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(repoRoot, 'test', 'ui', 'screenshots');

// Slow machines (2 shared cores) take tens of seconds to start code-server and the workbench.
const START_TIMEOUT_MS = 180_000;
const UI_TIMEOUT_MS = 60_000;

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const BASE_SETTINGS: Record<string, unknown> = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
};

/** Path of code-server's entry.js when scripts/code-server has installed it, else undefined. */
export function findCodeServer(): string | undefined {
  const r = spawnSync(join(repoRoot, 'scripts', 'code-server'), ['path'], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.split('\n').find((l) => l.startsWith('CODE_SERVER=')) : undefined;
  return line?.slice('CODE_SERVER='.length);
}

/**
 * Installs code-server if needed (about a minute when cold; its output goes to stderr). Returns
 * entry.js, or why it cannot be had without root (the install adds apt packages when missing).
 * An install that fails as root is a real failure and throws.
 */
export function ensureCodeServer(): { entry: string } | { reason: string } {
  const found = findCodeServer();
  if (found) return { entry: found };
  const r = spawnSync(join(repoRoot, 'scripts', 'code-server'), ['install'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const entry = findCodeServer();
  if (entry) return { entry };
  const failure = `scripts/code-server install failed (exit ${r.status ?? r.signal}); its output is above`;
  if (process.getuid?.() !== 0) return { reason: `${failure}, and this user is not root` };
  throw new Error(failure);
}

/** Why the UI tests cannot run on this machine, or undefined when they can. */
export function uiPrerequisiteProblem(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) return `${CHROMIUM_PATH} is missing (apt-get install chromium)`;
  return undefined;
}

export interface CodeServerOptions {
  vsixPaths: string[];
  workspaceFolder: string;
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and so for its extension host. */
  env?: Record<string, string>;
}

export interface CodeServer {
  url: string;
  port: number;
  userDataDir: string;
  extensionsDir: string;
  logFile: string;
  /** The last lines of code-server's log and of the extension host's, for failure messages. */
  logs(): string;
  /** Stops code-server and its extension host, then removes the temp dirs. Safe to call twice. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

// Last resort when a test process dies without its after() hooks: no orphaned servers or browsers,
// no temp dirs left behind.
const liveGroups = new Set<number>();
const tempDirs = new Set<string>();

// Set to keep code-server's dirs (logs, user data) for a post-mortem.
const keepDirs = Boolean(process.env.BLUEPILL_KEEP_CODE_SERVER_DIRS);

/** Removes `dir` when this process exits, if nothing removed it before. */
export function removeOnExit(dir: string): string {
  if (!keepDirs) tempDirs.add(dir);
  return dir;
}

function cleanUpOnExit(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.once('exit', cleanUpOnExit);
// Exit explicitly: playwright's own SIGTERM listener closes its browsers but does not exit, so a
// listener present means the signal's default action (exit) never happens.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    cleanUpOnExit();
    process.exit(code);
  });
}

async function killGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(-pid, s);
    } catch {
      // the group is gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  // The extension host may outlive its parent for a moment: make sure the group is empty.
  signal('SIGKILL');
  liveGroups.delete(pid);
}

/** Files named `name` anywhere under `dir`. */
function findFiles(dir: string, name: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return findFiles(path, name);
    return e.name === name ? [path] : [];
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function installExtensions(entry: string, common: string[], vsixPaths: string[], env: NodeJS.ProcessEnv): void {
  if (!vsixPaths.length) return;
  const args = [entry, ...common];
  for (const vsix of vsixPaths) args.push('--install-extension', vsix);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout: START_TIMEOUT_MS });
  const output = `${r.stdout}\n${r.stderr}`;
  const installed = output.match(/was successfully installed/g)?.length ?? 0;
  if (r.status !== 0 || installed !== vsixPaths.length) {
    throw new Error(`code-server --install-extension installed ${installed} of ${vsixPaths.length} (exit ${r.status}):\n${output}`);
  }
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const entry = findCodeServer();
  if (!entry) throw new Error('code-server is not installed: run scripts/code-server install');
  const root = removeOnExit(mkdtempSync(join(tmpdir(), 'bluepill-code-server-')));
  const userDataDir = join(root, 'user-data');
  const extensionsDir = join(root, 'extensions');
  const logFile = join(root, 'code-server.log');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...BASE_SETTINGS, ...options.settings }, null, 2));
  // Our own config file, so code-server never writes a password config into ~/.config.
  const config = join(root, 'config.yaml');
  writeFileSync(config, 'auth: none\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    XDG_DATA_HOME: join(root, 'xdg-data'),
    XDG_CONFIG_HOME: join(root, 'xdg-config'),
  };
  const common = ['--config', config, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (child) await killGroup(child);
    child = undefined;
    if (!keepDirs) rmSync(root, { recursive: true, force: true });
  };
  try {
    installExtensions(entry, common, options.vsixPaths, env);
    const port = await freePort();
    const log = openSync(logFile, 'a');
    child = spawn(
      process.execPath,
      [
        entry,
        ...common,
        '--auth',
        'none',
        '--bind-addr',
        `127.0.0.1:${port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--ignore-last-opened',
        options.workspaceFolder,
      ],
      { detached: true, stdio: ['ignore', log, log], env },
    );
    closeSync(log);
    if (child.pid !== undefined) liveGroups.add(child.pid);
    const running = child;
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      'code-server to answer /healthz',
      async () => {
        if (running.exitCode !== null || running.signalCode !== null) {
          throw new StopWaiting(`code-server exited (${running.exitCode ?? running.signalCode}):\n${tail(logFile)}`);
        }
        try {
          const res = await fetch(`${url}/healthz`);
          return res.ok ? true : undefined;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 250 },
    );
    const logs = (): string => [logFile, ...findFiles(join(userDataDir, 'logs'), 'remoteexthost.log')].map((f) => `--- ${f}\n${tail(f)}`).join('\n');
    return { url, port, userDataDir, extensionsDir, logFile, logs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface Workbench {
  browser: Browser;
  page: Page;
  /** Saves test/ui/screenshots/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openWorkbench(url: string, folder: string): Promise<Workbench> {
  // Chromium's crash-report and cache dirs go here, not into ~/.config and ~/.cache.
  const home = removeOnExit(mkdtempSync(join(tmpdir(), 'bluepill-chromium-')));
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_FLAGS,
    headless: true,
    timeout: START_TIMEOUT_MS,
    env: { ...process.env, XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') },
  });
  const close = async (): Promise<void> => {
    await browser.close();
    rmSync(home, { recursive: true, force: true });
  };
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    await page.goto(`${url}/?folder=${encodeURIComponent(folder)}`, { timeout: START_TIMEOUT_MS });
    await page.locator('.monaco-workbench').waitFor({ timeout: START_TIMEOUT_MS });
    // The status bar is the last part to render; before it, keystrokes can get lost.
    await page.locator('.part.statusbar').waitFor({ timeout: START_TIMEOUT_MS });
    return {
      browser,
      page,
      async screenshot(name: string): Promise<string> {
        mkdirSync(SCREENSHOT_DIR, { recursive: true });
        const path = join(SCREENSHOT_DIR, `${name}.png`);
        await page.screenshot({ path });
        return path;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

// --- what a user does in the workbench ---------------------------------------------------------

const quickInput = '.quick-input-widget';

async function pickFromQuickInput(page: Page, opener: string, typed: string, rowText: string): Promise<void> {
  await page.keyboard.press(opener);
  const input = page.locator(`${quickInput} .quick-input-box input`);
  await input.waitFor({ state: 'visible' });
  await input.fill(typed);
  const row = page.locator(`${quickInput} .monaco-list-row`, { hasText: rowText }).first();
  await row.waitFor({ state: 'visible' });
  await row.click();
  await page.locator(quickInput).waitFor({ state: 'hidden' });
}

/** Runs a command from the palette by its title as shown there (e.g. "Bluepill: Pick a runsc-sandbox"). */
export async function runCommand(page: Page, title: string): Promise<void> {
  await pickFromQuickInput(page, 'F1', `>${title}`, title);
}

/** The rows the command palette lists for `query`; closes the palette again. */
export async function paletteEntries(page: Page, query: string): Promise<string[]> {
  await page.keyboard.press('F1');
  const input = page.locator(`${quickInput} .quick-input-box input`);
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${query}`);
  const rows = page.locator(`${quickInput} .monaco-list-row`);
  // The list filters asynchronously: settle on the first row that matches, or on "no results".
  await page
    .locator(`${quickInput} .monaco-list-row, ${quickInput} .quick-input-message:not(:empty)`)
    .filter({ visible: true })
    .first()
    .waitFor({ state: 'visible' });
  const labels = await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('aria-label') ?? n.textContent ?? ''));
  await page.keyboard.press('Escape');
  await page.locator(quickInput).waitFor({ state: 'hidden' });
  return labels;
}

/** Opens a workspace file through Quick Open and waits for its editor tab to be active. */
export async function openFile(page: Page, fileName: string): Promise<void> {
  // F1 and a query without the '>' prefix is Quick Open. Not Ctrl+P: a Ctrl key-down over the
  // editor puts it in its Ctrl+hover link mode, the key-up goes to the quick input, and the
  // editor stays in that mode, so the next click there misfires.
  await pickFromQuickInput(page, 'F1', fileName, fileName);
  await page.locator('.tabs-container .tab.active', { hasText: fileName }).waitFor({ state: 'visible' });
  await page.locator('.editor-instance .view-lines .view-line').first().waitFor({ state: 'visible' });
}

/** Texts of the notification toasts currently shown. */
export async function notificationTexts(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
}

/** The language mode shown in the status bar for the active editor (e.g. "Go objdump"). */
export async function statusBarLanguage(page: Page): Promise<string> {
  return (await page.locator('[id="status.editor.mode"]').innerText()).trim();
}

export interface TokenSpan {
  text: string;
  classes: string[];
}

// Monaco renders spaces as U+00A0.
const normalise = (s: string): string => s.replace(/\u00a0/g, ' ');

/** The rendered token spans of the first visible editor line that contains `lineText`. */
export async function lineTokens(page: Page, lineText: string): Promise<TokenSpan[]> {
  const line = page.locator('.editor-instance .view-lines .view-line').filter({ hasText: lineText }).first();
  await line.waitFor({ state: 'visible' });
  const spans = await line.locator('span > span').evaluateAll((nodes) => nodes.map((n) => ({ text: n.textContent ?? '', classes: Array.from(n.classList) })));
  return spans.map((s) => ({ text: normalise(s.text), classes: s.classes.map(String) }));
}

// The few DOM shapes used inside page.evaluate (the project compiles without the DOM lib).
interface PageNode {
  textContent: string | null;
  firstChild: PageNode | null;
}
interface PageElement extends PageNode {
  querySelectorAll(selector: string): ArrayLike<PageNode>;
  ownerDocument: {
    createRange(): {
      setStart(node: PageNode, offset: number): void;
      setEnd(node: PageNode, offset: number): void;
      getBoundingClientRect(): { x: number; y: number; width: number; height: number };
    };
  };
}

/**
 * Screen point of the middle of the first `token` in the editor line containing `lineText`,
 * measured with a DOM Range so it works whether or not the line is split into tokens.
 */
async function tokenPoint(page: Page, lineText: string, token: string): Promise<{ x: number; y: number }> {
  const line = page.locator('.editor-instance .view-lines .view-line').filter({ hasText: lineText }).first();
  await line.waitFor({ state: 'visible' });
  const box = await line.evaluate((lineElement, wanted) => {
    const el = lineElement as unknown as PageElement;
    const nbsp = String.fromCharCode(0xa0);
    const spans = Array.from(el.querySelectorAll('span > span'));
    const text = spans.map((s) => (s.textContent ?? '').split(nbsp).join(' ')).join('');
    let at = text.indexOf(wanted);
    if (at < 0) return undefined;
    // Walk the spans to the one holding the token's middle character.
    at += Math.floor(wanted.length / 2);
    for (const span of spans) {
      const node = span.firstChild;
      const len = (span.textContent ?? '').length;
      if (node && at < len) {
        const range = el.ownerDocument.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + 1);
        const r = range.getBoundingClientRect();
        return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
      }
      at -= len;
    }
    return undefined;
  }, token);
  if (!box) throw new Error(`"${token}" is not on the line containing "${lineText}"`);
  return box;
}

/**
 * Rests the mouse on `token` in the line containing `lineText`; returns the hover widget's text.
 * Short `timeoutMs` values suit polling for a hover that needs the language server to index.
 */
export async function hoverText(page: Page, lineText: string, token: string, timeoutMs = UI_TIMEOUT_MS): Promise<string> {
  // From elsewhere first, so that a hover already dismissed at the same point shows again.
  await page.mouse.move(0, 0);
  const point = await tokenPoint(page, lineText, token);
  await page.mouse.move(point.x, point.y);
  const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content').first();
  await hover.waitFor({ state: 'visible', timeout: timeoutMs });
  return normalise(await hover.innerText());
}

/** The cursor position the status bar shows ("Ln 12, Col 5"), 1-based. */
export async function cursorPosition(page: Page): Promise<{ line: number; column: number }> {
  const text = await page.locator('[id="status.editor.selection"]').innerText();
  const m = /Ln (\d+), Col (\d+)/.exec(text);
  if (!m) throw new Error(`no cursor position in the status bar: "${text}"`);
  return { line: Number(m[1]), column: Number(m[2]) };
}

/** Clicks `token` in the line containing `lineText` and runs Go to Definition (F12). */
export async function goToDefinition(page: Page, lineText: string, token: string): Promise<void> {
  const point = await tokenPoint(page, lineText, token);
  await page.mouse.click(point.x, point.y);
  await page.keyboard.press('F12');
}
