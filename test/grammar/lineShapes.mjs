// An independent reading of each dump line (the regexes of go-objdump-formats.md §1, not the
// grammar's), and the invariants the grammar must satisfy on any real dump: every line gets its
// line-shape scope, every address is an address, every mnemonic a mnemonic of a family, and no
// operand character is left without a scope. Used on generated dumps, whose exact tokens change
// whenever the simulator does, and on the committed samples.

const SHAPES = [
  ['header', /^TEXT (.+)\(SB\)(?: .*)?$/, null],
  ['objdump', /^ {2}([^\t]*):(\d+)\t+(0x[0-9a-f]+)\t+([0-9a-f]+(?: [0-9a-f]{8})*)\t+(.*?)\t*$/, 5],
  ['objdump-source', /^ {2}(0x[0-9a-f]+)\t+([0-9a-f]+(?: [0-9a-f]{8})*)\t+(.*?)\t*$/, 3],
  // Delve's tabwriter pads cells with runs of tabs too (one tab when all file names are as long)
  ['delve', /^(=>)?\t+([^\t]*):(\d+)\t+(0x[0-9a-f]+)(\*)?\t+([0-9a-f]+)\t+(.*)$/, 7],
];

/** Expected line-shape scope per shape. */
export const SHAPE_SCOPE = {
  header: 'meta.function.header.go-objdump',
  objdump: 'meta.instruction.objdump.go-objdump',
  'objdump-source': 'meta.instruction.objdump-source.go-objdump',
  delve: 'meta.instruction.delve.go-objdump',
  source: 'meta.source-line.go-objdump',
};

export const MNEMONIC_SCOPE =
  /^(?:keyword\.control\.(?:call|return|branch|privileged|syscall|trap)|keyword\.other\.mnemonic|invalid\.illegal\.unknown-opcode)\.go-objdump$/;

/** { shape, text?, textStart?, address?, addressStart? } for one line. */
export function classifyLine(line) {
  if (/^\s*$/.test(line)) return { shape: 'blank' };
  for (const [shape, re, textGroup] of SHAPES) {
    const m = re.exec(line);
    if (!m) continue;
    if (!textGroup) return { shape };
    const text = m[textGroup];
    const address = m.find((g, i) => i > 0 && g && /^0x[0-9a-f]+$/.test(g));
    return {
      shape,
      text,
      textStart: line.lastIndexOf(text, line.length - (line.length - line.trimEnd().length) - text.length + 1),
      address,
      addressStart: line.indexOf(`\t${address}`) + 1 || line.indexOf(address),
    };
  }
  return { shape: 'other' };
}

const PREFIX = /^(?:(?:LOCK|REP|REPN?[EZ]|lock|rep|repn?[ez]|notrack|bnd|data16|[c-gs]s);? )+/;

// Mnemonics whose family is known independently of the grammar's lists.
const EXPECTED_FAMILY = [
  [/^(?:CALL|call[q]?|BL|bl|blr)$/, 'call'],
  [/^(?:RET|ret[q]?)$/, 'return'],
  [/^(?:J[A-Z]+|j[a-z]+|B(?:EQ|NE|HS|LO|CS|CC|MI|PL|VS|VC|HI|LS|GE|LT|GT|LE)|b\.[a-z]{2}|CBN?ZW?|TBN?Z|cbn?z|tbn?z)$/, 'branch'],
  [/^(?:SYSCALL|SYSENTER|SVC|syscall|svc)$/, 'syscall'],
  [/^(?:CLI|STI|HLT|ERET|HVC|SWAPGS|WRMSR|RDMSR|IRETQ|SYSRET|cli|sti|hlt|eret|hvc)$/, 'privileged'],
  [/^(?:UD2|UNDEF|BRK|ud2|brk|INT)$/, 'trap'],
  [/^\?$/, 'unknown'],
];

function familyOf(scope) {
  if (scope.startsWith('invalid.illegal.unknown-opcode')) return 'unknown';
  const m = /^keyword\.control\.(\w+)/.exec(scope);
  return m ? m[1] : 'other';
}

function scopeAt(tokens, index) {
  return tokens.find((t) => t.start <= index && index < t.end);
}

/**
 * Problems (strings) in a tokenized dump. `allowSource`: -S dumps, where unrecognised lines are
 * Go source; elsewhere an unrecognised line is a problem. `allowOther`: regexes for lines that
 * may stay outside the instruction shapes (e.g. grep separators). `transcript`: a Delve session
 * paste, where Delve's prompt and messages are expected.
 */
export function checkDump(tokenizedLines, { allowSource = false, allowOther = [], transcript = false } = {}) {
  const problems = [];
  const stats = { lines: 0, instructions: 0, headers: 0, source: 0 };
  tokenizedLines.forEach(({ text: line, tokens }, i) => {
    const where = `line ${i + 1} ${JSON.stringify(line.slice(0, 120))}`;
    const info = classifyLine(line);
    stats.lines++;
    if (info.shape === 'blank') return;
    const lineScopes = tokens[0]?.scopes ?? [];
    if (info.shape === 'other') {
      if (allowOther.some((re) => re.test(line))) return;
      if (transcript && /meta\.(?:message|prompt)\.delve\.go-objdump/.test(lineScopes.join(' '))) return;
      if (allowSource && lineScopes.includes(SHAPE_SCOPE.source)) {
        stats.source++;
        return;
      }
      problems.push(`${where}: not an objdump/Delve line and not allowed here (scopes ${lineScopes.join(' ')})`);
      return;
    }
    const expected = SHAPE_SCOPE[info.shape];
    if (!tokens.every((t) => t.scopes.includes(expected))) {
      problems.push(`${where}: expected every token in ${expected}, first token has ${lineScopes.join(' ')}`);
      return;
    }
    if (info.shape === 'header') {
      stats.headers++;
      return;
    }
    stats.instructions++;
    const addressToken = scopeAt(tokens, info.addressStart);
    if (!addressToken?.scopes.includes('constant.numeric.hex.address.go-objdump') || addressToken.text !== info.address) {
      problems.push(`${where}: address ${info.address} not scoped as an address`);
    }
    const prefix = PREFIX.exec(info.text)?.[0] ?? '';
    const mnemonicStart = info.textStart + prefix.length;
    const mnemonicToken = scopeAt(tokens, mnemonicStart);
    const mnemonicScope = mnemonicToken?.scopes.at(-1) ?? '';
    const mnemonic = info.text.slice(prefix.length).split(/[ \t]/)[0];
    // arm64 write-back suffixes (.P/.W) are a token of their own after the mnemonic
    const writeback = tokens.find((t) => t.start === mnemonicToken?.end && t.scopes.includes('storage.modifier.writeback.go-objdump'));
    const mnemonicText = `${mnemonicToken?.text ?? ''}${writeback?.text ?? ''}`;
    if (!MNEMONIC_SCOPE.test(mnemonicScope) || mnemonicText !== mnemonic) {
      problems.push(`${where}: mnemonic ${mnemonic} got ${JSON.stringify(mnemonicToken?.text)} ${mnemonicScope}`);
      return;
    }
    for (const [re, family] of EXPECTED_FAMILY) {
      if (re.test(mnemonic) && familyOf(mnemonicScope) !== family) {
        problems.push(`${where}: ${mnemonic} should be ${family}, got ${mnemonicScope}`);
      }
    }
    // Operands: from after the mnemonic to the -gnu tail or the first tab.
    const rest = info.text.slice(prefix.length + mnemonic.length);
    const operandEnd = [rest.search(/ {2,}\/\/ /), rest.indexOf('\t')].filter((n) => n >= 0);
    const operands = rest.slice(0, operandEnd.length ? Math.min(...operandEnd) : rest.length);
    const base = mnemonicStart + mnemonic.length;
    for (let k = 0; k < operands.length; k++) {
      const ch = operands[k];
      if (ch === ' ' || ch === ',') continue;
      const token = scopeAt(tokens, base + k);
      if (!token || token.scopes.length <= 2) {
        problems.push(`${where}: operand character ${JSON.stringify(ch)} at ${base + k} has no operand scope`);
        break;
      }
    }
  });
  return { problems, stats };
}
