// What a user does with the debugger in a real VS Code (code-server + Chromium): F5 on the local
// and the SSH configuration, threads in the Call Stack, a function breakpoint in the bluepill
// signal handler, "Step over bluepill" from the debug toolbar, and the Host context, Guest
// context and Bluepill hops views filled in.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { packagedExtension, startSession, type Session } from '../ext-tests/harness';
import { ensureCodeServer, notificationTexts, openFile, removeOnExit, runCommand, uiPrerequisiteProblem } from '../support/codeServer';
import { writeDemoWorkspace } from '../support/demoWorkspace';
import { startSimulator, type RunningSimulator } from '../support/simulator';
import { HOSTS, sshdUnavailable, startSshd, type TestSshd } from '../support/sshd';
import { waitFor } from '../support/waitFor';

const HANDLER = 'bluepill.sim/pkg/sentry/platform/kvm.sighandler';

async function viewTexts(page: Page, viewTitle: string): Promise<string[]> {
  const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: viewTitle }) }).first();
  const header = pane.locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  return pane.locator('.monaco-list-row').allInnerTexts();
}

async function startDebugging(page: Page, configName: string): Promise<void> {
  await runCommand(page, 'View: Show Run and Debug');
  const select = page.locator('.debug-view-content select, .start-debug-action-item select').first();
  await select.waitFor({ state: 'visible' });
  await select.selectOption({ label: configName });
  await page.keyboard.press('F5');
}

async function waitForThreads(page: Page, tids: number[]): Promise<string[]> {
  return waitFor(
    'the vCPU threads in the Call Stack view',
    async () => {
      const rows = await viewTexts(page, 'Call Stack').catch(() => []);
      return tids.every((t) => rows.some((r) => r.includes(String(t)))) ? rows : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

async function stopDebugging(page: Page): Promise<void> {
  await page.keyboard.press('Shift+F5');
  await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 60_000 });
}

async function removeAllBreakpoints(page: Page): Promise<void> {
  const header = page
    .locator('.pane', { has: page.locator('.pane-header', { hasText: 'Breakpoints' }) })
    .first()
    .locator('.pane-header')
    .first();
  await header.hover();
  await header.locator('a[aria-label="Remove All Breakpoints"]').click();
}

/** The Breakpoints view's "Add Function Breakpoint" action, as a user clicks it. */
async function addFunctionBreakpoint(page: Page, name: string): Promise<void> {
  const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Breakpoints' }) }).first();
  const header = pane.locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  await header.hover();
  await header.locator('a[aria-label="Add Function Breakpoint"]').click();
  const input = pane.locator('.monaco-inputbox input').first();
  await input.waitFor({ state: 'visible' });
  await input.fill(name);
  await page.keyboard.press('Enter');
}

/** A launch configuration that asks the sandbox picker (`${command:bluepill.pickSandbox}`). */
function addPickerConfiguration(folder: string): void {
  const path = join(folder, '.vscode', 'launch.json');
  const launch = JSON.parse(readFileSync(path, 'utf8')) as { configurations: Array<Record<string, unknown>> };
  launch.configurations.push({
    name: 'Attach with the sandbox picker',
    type: 'bluepill',
    request: 'attach',
    processId: '${command:bluepill.pickSandbox}',
    sudo: false,
  });
  writeFileSync(path, JSON.stringify(launch, null, 2) + '\n');
}

describe('debugging the simulator in code-server', { concurrency: 1 }, () => {
  let skipReason: string | undefined;
  let session: Session | undefined;
  let sim: RunningSimulator | undefined;
  let sshd: TestSshd | undefined;
  let objdumpPath = '';

  before(
    async () => {
      skipReason = uiPrerequisiteProblem();
      if (!skipReason) {
        const cs = ensureCodeServer();
        if ('reason' in cs) skipReason = cs.reason;
      }
      if (skipReason) {
        console.log(`# skipping the debugging UI tests: ${skipReason}`);
        return;
      }
      sim = await startSimulator({ vcpus: 2, hops: 'two' });
      await sim.waitForProgress(5, 30_000);
      const sshSkip = sshdUnavailable();
      if (sshSkip) console.log(`# the SSH configuration is not tested: ${sshSkip}`);
      else sshd = await startSshd();
      const folder = removeOnExit(mkdtempSync(join(tmpdir(), 'bluepill-ui-debug-')));
      ({ objdump: objdumpPath } = writeDemoWorkspace({
        folder,
        binary: sim.binary,
        processId: sim.pid,
        ...(sshd ? { ssh: { destination: HOSTS.root, sshConfigFile: sshd.clientConfig, sudo: false } } : {}),
      }));
      addPickerConfiguration(folder);
      session = await startSession({ vsix: packagedExtension(), workspaceFolder: folder });
    },
    { timeout: 900_000 },
  );

  after(async () => {
    await session?.close();
    await sshd?.stop();
    await sim?.stop();
  });

  test('F5 on "Attach to a local runsc-sandbox" shows the OS threads in the Call Stack', { timeout: 300_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const page = session!.workbench.page;
    await startDebugging(page, 'Attach to a local runsc-sandbox');
    const rows = await waitForThreads(page, sim!.vcpuTids);
    assert.ok(rows.length >= sim!.vcpuTids.length);
    await session!.workbench.screenshot('10-attached-local');
  });

  test('"Step over bluepill" in the debug toolbar moves to the landing PC and fills the views', { timeout: 300_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const page = session!.workbench.page;
    await addFunctionBreakpoint(page, HANDLER);
    // The thread stops in the handler; the toolbar then offers "Step over bluepill".
    const button = page.locator('.debug-toolbar .action-item a[aria-label^="Step over bluepill"]');
    await button.waitFor({ state: 'visible', timeout: 60_000 }).catch(async (err: Error) => {
      await session!.workbench.screenshot('11-failed-no-step-over-button');
      const labels = await page.locator('.debug-toolbar .action-item a').evaluateAll((ns) => ns.map((n) => n.getAttribute('aria-label')));
      throw new Error(`${err.message}\ntoolbar: ${labels.join(' | ')}`);
    });
    // The status bar says why the steps here are not the plain ones.
    await waitFor(
      'the step-guards status bar item',
      async () =>
        /Guarded steps in the bluepill signal handler/.test(
          await page
            .locator('.statusbar')
            .innerText()
            .catch(() => ''),
        ) || undefined,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    await session!.workbench.screenshot('11-stopped-in-handler');
    await removeAllBreakpoints(page);
    await button.click();
    const hops = await waitFor(
      'hops in the Bluepill hops view',
      async () => {
        const rows = await viewTexts(page, 'Bluepill hops').catch(() => []);
        return rows.some((r) => /→/.test(r)) ? rows : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.ok(
      hops.some((r) => /guestExitSyscall/.test(r)),
      `a hop lands in the guest exit: ${hops.join(' | ')}`,
    );
    const pcOf = (rows: string[]): string | undefined => rows.find((r) => /^PC/.test(r.trim()))?.match(/0x[0-9a-f]+/)?.[0];
    // The views render on their own schedule: wait until both show a PC.
    const { host, guest } = await waitFor(
      'a PC in the Host and Guest context views',
      async () => {
        const h = await viewTexts(page, 'Host context').catch(() => []);
        const g = await viewTexts(page, 'Guest context').catch(() => []);
        return pcOf(h) && pcOf(g) ? { host: h, guest: g } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.notEqual(pcOf(host), pcOf(guest), 'the host and guest PCs differ');
    assert.ok(
      guest.some((r) => /changed/.test(r)),
      'changed registers are marked',
    );
    const stack = await waitFor(
      'the landing in the Call Stack view',
      async () => {
        const rows = await viewTexts(page, 'Call Stack').catch(() => []);
        return rows.some((r) => /guestExitSyscall/.test(r)) ? rows : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.ok(stack.length > 0);
    await session!.workbench.screenshot('12-stepped-over-bluepill');
    await stopDebugging(page);
    const before = (await sim!.status()).roundTrips;
    const after = await sim!.waitForProgress(before + 5, 30_000);
    assert.equal(after.checksOK, true, 'the simulator runs on, no breakpoint left in guest code');
  });

  test('Step over bluepill has an icon of its own, sits apart from Step Over, and Ctrl+Shift+F10 runs it', { timeout: 300_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const page = session!.workbench.page;
    await startDebugging(page, 'Attach to a local runsc-sandbox');
    await waitForThreads(page, sim!.vcpuTids);
    await addFunctionBreakpoint(page, HANDLER);
    const button = page.locator('.debug-toolbar .action-item a[aria-label^="Step over bluepill"]');
    await button.waitFor({ state: 'visible', timeout: 60_000 });
    await removeAllBreakpoints(page);
    const labels = await page.locator('.debug-toolbar .action-item a').evaluateAll((ns) => ns.map((n) => n.getAttribute('aria-label') ?? ''));
    const ours = labels.findIndex((l) => l.startsWith('Step over bluepill'));
    const stepOver = labels.findIndex((l) => /^Step Over\b/.test(l));
    t.diagnostic(`toolbar: ${labels.join(' | ')}`);
    assert.ok(ours >= 0 && stepOver >= 0 && Math.abs(ours - stepOver) > 1, `not next to Step Over: ${labels.join(' | ')}`);
    const icon = await button.evaluate((a) => {
      const view = a.ownerDocument.defaultView!;
      const style = view.getComputedStyle(a);
      const before = view.getComputedStyle(a, '::before');
      return [style.backgroundImage, style.maskImage, style.webkitMaskImage, before.backgroundImage, before.maskImage, before.webkitMaskImage].join(' ');
    });
    assert.match(icon, /step-over-bluepill-(dark|light)\.svg/, `the toolbar button draws our icon: ${icon}`);
    await session!.workbench.screenshot('14-step-over-bluepill-icon');
    // Keyboard focus in the workbench (the Call Stack), as after a click on a frame.
    await page.locator('.pane-header', { hasText: 'Call Stack' }).first().click();
    await page.keyboard.press('Control+Shift+F10');
    const hops = await waitFor(
      'the status bar summary of a step over bluepill after Ctrl+Shift+F10',
      async () => {
        const text = (
          await page
            .locator('.statusbar')
            .innerText()
            .catch(() => '')
        ).replace(/\s+/g, ' ');
        return /bluepill: .*→.*\(\d+ hops?\)/.test(text) ? [text] : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch(async (err: Error) => {
      await session!.workbench.screenshot('15-failed-keybinding');
      throw err;
    });
    const hopsBefore = 0;
    assert.ok(hops.length > hopsBefore);
    await session!.workbench.screenshot('15-step-over-bluepill-keybinding');
    await stopDebugging(page);
  });

  test('F9 on an instruction line of an objdump file sets a verified instruction breakpoint, and a vCPU stops there', { timeout: 300_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const page = session!.workbench.page;
    const lines = readFileSync(objdumpPath, 'utf8').split('\n');
    const text = lines.findIndex((l) => /^TEXT .*platform\/kvm\.sighandler(\.abi0)?\(SB\)/.test(l));
    assert.ok(text >= 0, 'the dump has kvm.sighandler');
    const first = lines.findIndex((l, i) => i > text && /\t0x[0-9a-f]+\t/.test(l));
    const address = /\t(0x[0-9a-f]+)\t/.exec(lines[first])![1];
    await startDebugging(page, 'Attach to a local runsc-sandbox');
    await waitForThreads(page, sim!.vcpuTids);
    await openFile(page, 'bluepill-sim.objdump');
    // Go to the line (Quick Open with ":N"), then F9 as a user does.
    await page.keyboard.press('F1');
    await page.keyboard.press('Backspace');
    await page.keyboard.type(`:${first + 1}`);
    await page.keyboard.press('Enter');
    await page.keyboard.press('F9');
    const stack = await waitFor(
      'a vCPU stopped at kvm.sighandler by the breakpoint from the objdump line',
      async () => {
        const rows = await viewTexts(page, 'Call Stack').catch(() => []);
        return rows.some((r) => /kvm\.sighandler/.test(r)) && rows.some((r) => /breakpoint/i.test(r)) ? rows : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    ).catch(async (err: Error) => {
      await session!.workbench.screenshot('16-failed-f9-objdump');
      throw err;
    });
    t.diagnostic(`Call Stack: ${stack.slice(0, 6).join(' | ')}`);
    const breakpoints = await viewTexts(page, 'Breakpoints').catch(() => []);
    assert.ok(
      breakpoints.some((r) => r.includes('bluepill-sim.objdump') && r.includes(String(first + 1))),
      `the Breakpoints view lists the objdump line ${first + 1} (${address}): ${breakpoints.join(' | ')}`,
    );
    const unverified = await page.locator('.margin-view-overlays .codicon-debug-breakpoint-unverified').count();
    assert.equal(unverified, 0, 'the breakpoint in the objdump editor is verified');
    await session!.workbench.screenshot('16-f9-in-objdump');
    // What the Debug Console shows a user: our words, no raw JSON and no Delve method prefixes.
    const console = await page
      .locator('.repl .monaco-list-rows')
      .innerText()
      .catch(() => '');
    assert.match(console, /Attached to pid \d+ on this machine with Delve/, `the Debug Console shows the attach: ${console}`);
    assert.doesNotMatch(console, /\{"kind"|Delve (State|Command|Eval|[A-Z][a-zA-Z]+):/, console);
    await removeAllBreakpoints(page);
    await stopDebugging(page);
  });

  test('F5 with the sandbox picker: the only KVM sandbox is chosen, not the systrap one next to it, and the vCPUs are labelled', {
    timeout: 300_000,
  }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const page = session!.workbench.page;
    const other = await startSimulator({ vcpus: 1, platform: 'systrap' });
    try {
      await startDebugging(page, 'Attach with the sandbox picker');
      // Another KVM sandbox on this machine (not ours) makes the picker ask: then answer it with ours.
      const chosen = await waitFor(
        'the picker to choose or ask',
        async () => {
          const notes = (await notificationTexts(page)).join(' | ');
          if (/Attaching to the only KVM sandbox/.test(notes)) return { notes, asked: false };
          // The picker's own QuickPick (not a command palette left open): titled "Sandboxes on …".
          const title = await page
            .locator('.quick-input-title')
            .innerText()
            .catch(() => '');
          const items = await page
            .locator('.quick-input-list .monaco-list-row')
            .allInnerTexts()
            .catch(() => []);
          return /Sandboxes on/.test(title) && items.some((i) => /pid \d+/.test(i)) ? { notes: items.join(' | '), asked: true } : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      t.diagnostic(`picker: ${chosen.notes}`);
      if (chosen.asked) {
        const rows = chosen.notes.split(' | ');
        const lastKvm = rows.map((r) => /kvm/.test(r)).lastIndexOf(true);
        const firstOther = rows.findIndex((r) => /systrap/.test(r));
        assert.ok(firstOther < 0 || lastKvm < firstOther, `KVM sandboxes come first: ${chosen.notes}`);
        await page
          .locator('.quick-input-list .monaco-list-row', { hasText: `pid ${sim!.pid}` })
          .first()
          .click();
      } else {
        assert.match(chosen.notes, new RegExp(`pid ${sim!.pid}`), 'our KVM simulator is the one chosen');
      }
      const rows = await waitForThreads(page, sim!.vcpuTids);
      assert.ok(!rows.some((r) => r.includes(String(other.pid))), 'not attached to the systrap sandbox');
      // The vCPUs are labelled once seen on the bluepill path: stop one there.
      await addFunctionBreakpoint(page, HANDLER);
      const labelled = await waitFor(
        'a "vCPU · tid …" row in the Call Stack',
        async () => {
          const r = await viewTexts(page, 'Call Stack').catch(() => []);
          return r.some((x) => /vCPU( \d+)? · tid \d+ · kvm\./.test(x)) ? r : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      t.diagnostic(`Call Stack: ${labelled.slice(0, 4).join(' | ')}`);
      await session!.workbench.screenshot('17-picker-and-vcpu-labels');
      await removeAllBreakpoints(page);
      await stopDebugging(page);
    } finally {
      await other.stop();
    }
  });

  test('F5 on the SSH configuration attaches through the test sshd', { timeout: 300_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    if (!sshd) return t.skip(sshdUnavailable() ?? 'no sshd');
    const page = session!.workbench.page;
    await startDebugging(page, 'Attach to runsc-sandbox on a Pi (SSH)');
    await waitForThreads(page, sim!.vcpuTids);
    await session!.workbench.screenshot('13-attached-ssh');
    await stopDebugging(page);
  });
});
