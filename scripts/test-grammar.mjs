// Grammar tests for syntaxes/go-objdump.tmLanguage.json.
//  1. the committed grammar JSON is what syntaxes/build-go-objdump-grammar.mjs generates;
//  2. exact snapshots (vscode-tmgrammar-snap) of the committed samples test/fixtures/objdump/*.txt,
//     kept in test/grammar/<sample>.snap;
//  3. invariants on dumps generated now from real binaries — the bluepill simulator
//     (test/fixtures/bluepill-sim) and test/fixtures/objdump/privileged, for amd64 and arm64, with
//     `go tool objdump`, `-S` and `-gnu`. Their addresses change whenever the code does, so they
//     are not snapshotted: every line must get its line-shape scope, every address the address
//     scope, every mnemonic a family scope, every operand character a scope, and the privileged
//     instructions bluepill relies on (CLI, MRS $18052 = TPIDR_EL1) the privileged scope;
//  4. the same invariants on Delve's `disassemble` of the simulator (this host's arch; intel, go
//     and gnu flavours; `=>` and `*` on the breakpoint line).
// Usage: node scripts/test-grammar.mjs [--update]   (--update rewrites the snapshots)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildGrammar, buildMarkdownInjection, renderJson } from '../syntaxes/build-go-objdump-grammar.mjs';
import { grammarFile, injectionFile, repoRoot, tokenizeText } from '../test/grammar/tokenizer.mjs';
import { checkDump } from '../test/grammar/lineShapes.mjs';

const update = process.argv.includes('--update');
const fixtures = join(repoRoot, 'test', 'fixtures', 'objdump');
const snapshots = join(repoRoot, 'test', 'grammar');
const snapTool = join(repoRoot, 'node_modules', 'vscode-tmgrammar-test', 'dist', 'snapshot.js');
const work = mkdtempSync(join(tmpdir(), 'go-objdump-grammar-'));
const results = [];

function record(name, problems) {
  results.push({ name, ok: problems.length === 0 });
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${name}`);
  for (const p of problems.slice(0, 20)) console.log(`     ${p}`);
  if (problems.length > 20) console.log(`     … ${problems.length - 20} more`);
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...options });
  if (r.error) return { ok: false, out: String(r.error.message) };
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

// 1. generated files are current
for (const [file, build] of [
  [grammarFile, buildGrammar],
  [injectionFile, buildMarkdownInjection],
]) {
  const same = existsSync(file) && readFileSync(file, 'utf8') === renderJson(build());
  record(`${basename(file)} matches its generator`, same ? [] : ['stale: run node syntaxes/build-go-objdump-grammar.mjs']);
}

// 2. exact snapshots of the committed samples (staged with their snapshots in a temp dir, since
// vscode-tmgrammar-snap keeps a .snap next to each test case)
const staged = join(work, 'samples');
mkdirSync(staged);
const samples = readdirSync(fixtures)
  .filter((f) => f.endsWith('.txt') || f.endsWith('.s'))
  .sort();
for (const sample of samples) {
  const snapName = `${sample}.snap`;
  copyFileSync(join(fixtures, sample), join(staged, sample));
  const committed = join(snapshots, snapName);
  if (existsSync(committed)) copyFileSync(committed, join(staged, snapName));
  else if (!update) {
    record(`snapshot ${sample}`, [`no ${join('test', 'grammar', snapName)}: run with --update`]);
    continue;
  }
  const r = run(
    process.execPath,
    [
      snapTool,
      '--config',
      join(work, 'no-package.json'),
      '-s',
      'source.go-objdump',
      '-g',
      grammarFile,
      ...(update ? ['--updateSnapshot'] : []),
      join(staged, sample),
    ],
    { cwd: work },
  );
  if (r.ok && update) copyFileSync(join(staged, snapName), committed);
  record(`snapshot ${sample}`, r.ok ? [] : r.out.split('\n').filter((l) => l.trim() && !l.includes('grammar not found')));
}

// 3. invariants on fresh dumps of real binaries
// Instructions each dump must contain, with the family their mnemonic must get.
const expectedInstructions = {
  amd64: [
    { text: /^CLI$/, family: 'privileged' },
    { text: /^SYSCALL$/, family: 'syscall' },
  ],
  arm64: [
    { text: /^MRS \$18052, R\d+$/, family: 'privileged' },
    { text: /^SVC \$0$/, family: 'syscall' },
  ],
};

function instructionText(line) {
  const m = /\t+([^\t]+?)\t*$/.exec(line.replace(/ {2,}\/\/ [^\t]*/, ''));
  return m ? m[1] : '';
}

function checkExpectedInstructions(lines, arch) {
  const problems = [];
  for (const { text: re, family } of expectedInstructions[arch]) {
    const hits = lines.filter(({ text }) => re.test(instructionText(text)));
    if (!hits.length) problems.push(`no instruction matching ${re}`);
    for (const { text, tokens } of hits) {
      const scope = tokens.map((t) => t.scopes.at(-1)).find((s) => /^(?:keyword|invalid)\./.test(s)) ?? '';
      if (!scope.startsWith(`keyword.control.${family}.`)) {
        problems.push(`${JSON.stringify(text)}: mnemonic scoped ${scope}, want keyword.control.${family}`);
      }
    }
  }
  return problems;
}

const goVersion = run('go', ['version']);
const programs = [
  { name: 'bluepill-sim', dir: join(repoRoot, 'test', 'fixtures', 'bluepill-sim'), symbols: 'ring0\\.|platform/kvm\\.|^main\\.' },
  { name: 'privileged', dir: join(fixtures, 'privileged'), symbols: '^main\\.' },
];
if (!goVersion.ok) {
  console.log(`skip generated dumps: go is not installed (${goVersion.out.trim()})`);
} else {
  for (const program of programs) {
    if (!existsSync(join(program.dir, 'go.mod'))) {
      console.log(`skip ${program.name}: ${program.dir} has no go.mod yet`);
      continue;
    }
    for (const arch of ['amd64', 'arm64']) {
      const binary = join(work, `${program.name}-${arch}`);
      const build = run('go', ['build', '-o', binary, '.'], {
        cwd: program.dir,
        env: { ...process.env, GOOS: 'linux', GOARCH: arch, CGO_ENABLED: '0' },
      });
      if (!build.ok) {
        record(`${program.name} ${arch}: go build`, [build.out.trim()]);
        continue;
      }
      for (const flags of [[], ['-S'], ['-gnu']]) {
        const name = `${program.name} ${arch} go tool objdump ${[...flags, '-s', program.symbols].join(' ')}`;
        const dump = run('go', ['tool', 'objdump', ...flags, '-s', program.symbols, binary]);
        if (!dump.ok || !dump.stdout.trim()) {
          record(name, [`objdump failed or printed nothing: ${dump.out.trim()}`]);
          continue;
        }
        const lines = await tokenizeText(dump.stdout);
        const { problems, stats } = checkDump(lines, { allowSource: flags.includes('-S') });
        if (stats.instructions < 10) problems.push(`only ${stats.instructions} instruction lines`);
        problems.push(...checkExpectedInstructions(lines, arch));
        record(`${name} (${stats.instructions} instructions, ${stats.headers} functions)`, problems);
      }
    }
  }
}

// 4. Delve's `disassemble` of the simulator on this host, in its three flavours (intel, go, gnu)
const delveInit = [
  'config source-list-line-count 0',
  'break main.main',
  'continue',
  'disassemble',
  'config disassemble-flavor go',
  'disassemble',
  'config disassemble-flavor gnu',
  'disassemble',
  'exit -c',
].join('\n');
const hostArch = { x64: 'amd64', arm64: 'arm64' }[process.arch];
const simulator = join(work, `bluepill-sim-${hostArch}`);
const dlvVersion = run('dlv', ['version']);
if (!dlvVersion.ok) console.log(`skip Delve disassemble: dlv is not installed (${dlvVersion.out.trim()})`);
else if (!existsSync(simulator)) console.log('skip Delve disassemble: no simulator binary for this host was built');
else {
  writeFileSync(join(work, 'dlv-init'), `${delveInit}\n`);
  const dlv = run('dlv', ['exec', simulator, '--init', join(work, 'dlv-init'), '--allow-non-terminal-interactive=true'], {
    cwd: work,
    input: '',
    timeout: 120_000,
  });
  // the current source line Delve prints on stopping is coloured with ANSI escapes; a paste has none
  // eslint-disable-next-line no-control-regex -- ESC is exactly what is removed here
  const transcript = (dlv.stdout ?? '').replace(/\x1b\[[0-9;]*m/g, '');
  const headers = transcript.split('\n').filter((l) => l.startsWith('TEXT ')).length;
  if (headers === 0) {
    console.log(`skip Delve disassemble: dlv printed no listing (ptrace not allowed here?): ${dlv.out.trim().split('\n').slice(-3).join(' | ')}`);
  } else {
    const lines = await tokenizeText(transcript);
    const { problems, stats } = checkDump(lines, { transcript: true, allowSource: true });
    if (headers !== 3) problems.push(`${headers} TEXT headers, want 3 (one per flavour)`);
    const marked = lines.filter(
      ({ tokens }) =>
        tokens.some((t) => t.scopes.includes('markup.inserted.current-pc.delve.go-objdump')) &&
        tokens.some((t) => t.scopes.includes('markup.deleted.breakpoint.delve.go-objdump')),
    );
    if (marked.length !== 3) problems.push(`${marked.length} lines with both => and * scoped, want 3`);
    record(
      `Delve ${dlvVersion.out.split('\n')[1]?.trim() ?? ''} disassemble main.main, ${hostArch}, intel/go/gnu (${stats.instructions} instructions)`,
      problems,
    );
  }
}

rmSync(work, { recursive: true, force: true });
const failed = results.filter((r) => !r.ok).length;
console.log(`grammar: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
