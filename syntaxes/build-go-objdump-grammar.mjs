// Generates syntaxes/go-objdump.tmLanguage.json and the Markdown injection grammar.
// TextMate JSON has no regex variables; the line regexes share big fragments (the instruction
// text, the mnemonic families), so they are composed here and capture numbers are counted by
// the builder instead of by hand. Run: node syntaxes/build-go-objdump-grammar.mjs
// (the unit test checks that the committed JSON equals what this script produces).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const S = '.go-objdump';

// ---- regex builder: a piece is a string (raw regex, no capturing groups), a capture, or a
// conditional on whether an earlier capture took part in the match ----

/** A capturing group; `spec` is a scope name or a `{ patterns }` object for the capture. */
function cap(body, spec) {
  return { body: Array.isArray(body) ? body : [body], spec };
}

/** Oniguruma's `(?(n)yes|no)`: `yes` if the capture `group` (compiled earlier) matched, else `no`. */
function ifMatched(group, yes, no) {
  return { ifMatched: group, yes, no };
}

/** Compiles pieces into { regex, captures }, numbering groups in left-paren order. */
function compile(pieces) {
  const captures = {};
  let n = 0;
  const numbers = new Map();
  const walk = (list) =>
    list
      .map((p) => {
        if (typeof p === 'string') return p;
        if (p.ifMatched) {
          if (!numbers.has(p.ifMatched)) throw new Error('a conditional must follow the group it tests');
          return `(?(${numbers.get(p.ifMatched)})${walk(p.yes)}|${walk(p.no)})`;
        }
        n += 1;
        const index = n;
        numbers.set(p, index);
        const inner = walk(p.body);
        if (p.spec) captures[String(index)] = typeof p.spec === 'string' ? { name: p.spec } : p.spec;
        return `(${inner})`;
      })
      .join('');
  const regex = walk(pieces);
  return { regex, captures };
}

function matchRule(pieces) {
  const { regex, captures } = compile(pieces);
  return { match: regex, captures };
}

function lineRule(name, pieces) {
  return { name, ...matchRule(pieces) };
}

// ---- shared fragments ----

const HEX = '0x[0-9a-fA-F]+';
const END = '(?=[ \\t]|$)';
const CONDITIONS = 'EQ|NE|HS|LO|CS|CC|MI|PL|VS|VC|HI|LS|GE|LT|GT|LE|AL|NV';

// arm64 system registers that EL0 can reach have op1 == 3. Go's arm64asm prints an unnamed
// register as `$N` with N = o0:op1:CRn:CRm:op2 (15 bits), so op1 == 3 is exactly the two
// decimal ranges 6144–8191 and 22528–24575 (e.g. TPIDR_EL0 = $24194, TPIDR_EL1 = $18052).
const EL0_SYSREG_NUMBER =
  '(?:614[4-9]|61[5-9]\\d|6[2-9]\\d\\d|7\\d\\d\\d|80\\d\\d|81[0-8]\\d|819[01]' +
  '|2252[89]|225[3-9]\\d|22[6-9]\\d\\d|23\\d\\d\\d|24[0-4]\\d\\d|245[0-6]\\d|2457[0-5])(?!\\d)';
const PRIV_SYSREG_NUMBER = `\\$(?!${EL0_SYSREG_NUMBER})\\d+(?!\\d)`;
const PRIV_SYSREG_NAME =
  '(?:S[0-3]_(?!3_)[0-7]_C\\d{1,2}_C\\d{1,2}_[0-7]|[A-Z][A-Z0-9]*+_EL(?:1[12]?|2|3|02)' +
  '|SP_EL[0-2]|SPSR_[A-Za-z0-9]+|ELR_EL[1-3]|CurrentEL|DAIFSet|DAIFClr|SPSel|PAN|UAO)(?![\\w.])';
const PRIV_SYSREG_NAME_LOWER =
  '(?:s[0-3]_(?!3_)[0-7]_c\\d{1,2}_c\\d{1,2}_[0-7]|[a-z][a-z0-9]*+_el(?:1[12]?|2|3|02)' +
  '|sp_el[0-2]|spsr_[a-z0-9]+|elr_el[1-3]|currentel|daifset|daifclr|spsel|pan|uao)(?![\\w.])';

// ---- alternations grouped by first letter ----
// Oniguruma tries the alternatives of a group one by one; the mnemonic families hold a few
// hundred, tried for every line. Grouped by first letter (`C(?:ALL|LI|…)`), a mnemonic is only
// compared with the alternatives that start like it. Alternatives that match the same word give
// the same capture, and END after the group makes the engine backtrack through all of them, so
// the order inside a family does not change what is matched.

/** Splits a regex alternation at its top-level `|`. */
function topLevelAlternatives(alternation) {
  const out = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < alternation.length; i++) {
    const c = alternation[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(alternation.slice(start, i));
      start = i + 1;
    }
  }
  out.push(alternation.slice(start));
  return out;
}

function byFirstLetter(alternation) {
  const groups = new Map();
  const rest = [];
  for (const alt of topLevelAlternatives(alternation)) {
    if (/^[A-Za-z](?![?*+{])/.test(alt)) {
      const list = groups.get(alt[0]) ?? [];
      list.push(alt.slice(1));
      groups.set(alt[0], list);
    } else rest.push(alt);
  }
  const grouped = [...groups].map(([letter, tails]) => (tails.length === 1 ? letter + tails[0] : `${letter}(?:${tails.join('|')})`));
  // Go syntax is upper case: one test skips all the lower-case (Delve intel/gnu) alternatives.
  const upper = grouped.filter((g) => !/^[a-z]/.test(g));
  const lower = grouped.filter((g) => /^[a-z]/.test(g));
  return [...upper, ...(lower.length ? [`(?=[a-z])(?:${lower.join('|')})`] : []), ...rest].join('|');
}

// Mnemonic families. Upper case: Go syntax; lower case: Delve's intel/gnu flavours and GNU.
const PRIVILEGED = byFirstLetter(
  [
    // amd64: ring-0 only or ring transitions
    'CLI|STI|HLT|LGDT|LIDT|LLDT|LTR|LMSW|CLTS|INVD|WBINVD|INVLPGA?|INVPCID|INVEPT|INVVPID|WRMSR|RDMSR',
    'SWAPGS|SYSRET[QL]?|SYSEXIT[QL]?|IRET[QLWD]?|XSETBV|MONITOR|MWAIT|IN[BWL]?|OUT[BWL]?|INS[BWLD]|OUTS[BWLD]',
    'VM(?:CALL|LAUNCH|RESUME|XON|XOFF|READ|WRITE|PTRLD|PTRST|CLEAR|FUNC|MCALL|RUN|LOAD|SAVE)',
    // arm64: exception return, hypervisor/secure calls, EL1 maintenance, EL1 system registers
    'ERET(?:AA|AB)?|HVC|SMC|DRPS|TLBI|AT',
    `MRS(?= (?:${PRIV_SYSREG_NUMBER}|${PRIV_SYSREG_NAME}),)`,
    `MSR(?= [^\\t,]*, (?:${PRIV_SYSREG_NUMBER}|${PRIV_SYSREG_NAME}))`,
    'cli|sti|hlt|lgdt[lq]?|lidt[lq]?|lldt|ltr|lmsw|clts|invd|wbinvd|invlpga?|invpcid|invept|invvpid|wrmsr|rdmsr',
    'swapgs|sysret[ql]?|sysexit[ql]?|iret[qlwd]?|xsetbv|monitor|mwait|in[bwl]?|out[bwl]?|ins[bwld]|outs[bwld]',
    'vm(?:call|launch|resume|xon|xoff|read|write|ptrld|ptrst|clear|func|mcall|run|load|save)',
    'eret(?:aa|ab)?|hvc|smc|drps|tlbi|at',
    `mrs(?= [^\\t,]*, ${PRIV_SYSREG_NAME_LOWER})`,
    `msr(?= ${PRIV_SYSREG_NAME_LOWER})`,
  ].join('|'),
);
const SYSCALL = byFirstLetter('SYSCALL|SYSENTER|SVC|syscall|sysenter|svc');
const TRAP = byFirstLetter('INT[13O]?|ICEBP|UD[012]|UNDEF|BRK|UDF|DCPS[123]|int[13o]?|icebp|ud[012]|ud2a|undef|brk|udf|dcps[123]');
const CALL = byFirstLetter('CALL|LCALL|BL|BLR|BLRA[AB]Z?|call[qlw]?|lcall[qlw]?|bl|blr|blra[ab]z?');
const RETURN = byFirstLetter('RET[FQLW]*|LRET[QL]?|RETA[AB]|ret[qlwn]?|lret[qlw]?|retf[qlw]?|reta[ab]');
const BRANCH = byFirstLetter(
  `J[A-Z]+|LOOP[A-Z]*|XBEGIN|B|BR|BRA[AB]Z?|B(?:${CONDITIONS})|CBN?ZW?|TBN?Z` + '|j[a-z]+|loop[a-z]*|xbegin|b|br|bra[ab]z?|b\\.[a-z]{2}|cbn?z|tbn?z',
);
const UNKNOWN = '\\?|\\(bad\\)';
const PREFIX = `(?:(?:${byFirstLetter(
  'LOCK|REP|REPN?[EZ]|XACQUIRE|XRELEASE|BND|NOTRACK|DATA16|ADDR32' + '|lock|rep|repn?[ez]|xacquire|xrelease|bnd|notrack|data16|data32|addr16|addr32|[c-gs]s',
)});? )+`;

// A symbol name as the Go disassemblers print it: dots, slashes, `(*T)` receivers,
// `[...]` type arguments, `{ ... }` struct types with spaces, `<>` statics, `·`.
const SYMBOL = '(?:[^\\s,(){}\\[\\]$]|,(?! )|\\{[^{}\\t]*\\}|\\[[^\\[\\]\\t]*\\]|\\((?!SB\\))[^()\\t]*\\))+?';

// R first: arm64 code is mostly R0–R30, and amd64 has RSP, R8–R15 besides AX…DI.
const GO_REGISTER =
  '(?:R(?:SP|(?:[12]?\\d|3[01])(?:[BWL]|_PLATFORM)?)|[ABCD][XLH]|BP|SI|DI|SPB|BPB|SIB|DIB|ZR|LR' +
  '|[XYZ](?:[12]?\\d|3[01])|K[0-7]|M[0-7]|F(?:[12]?\\d|3[01])|V(?:[12]?\\d|3[01])|[CDEFGS]S)';
const ARRANGEMENT = 'B8|B16|H4|H8|S2|S4|D1|D2|Q1|B|H|S|D|Q';
const NATIVE_REGISTER =
  '(?:[re]?[abcd]x|[abcd][lh]|[re]?(?:sp|bp|si|di|ip)|(?:sp|bp|si|di)l|r(?:[89]|1[0-5])[bwd]?' +
  '|[xyz]mm(?:[12]?\\d|3[01])|k[0-7]|mm[0-7]|st(?:\\([0-7]\\))?|[c-gs]s' +
  '|[xwbhsdqv](?:[12]?\\d|3[01])|w?sp|[xw]zr|lr)';

const MEM_BASE = `(SB|FP|SP|PC|IP|TLS)|(${GO_REGISTER}|%${NATIVE_REGISTER})`;

// ---- operand fast path ----
// A capture with `patterns` makes vscode-textmate tokenize the captured text a second time, one
// scanner call per token: the operand rules cost as much as the whole line regex. The common
// operand lists (up to three operands: registers, immediates, `off(REG)` memory, symbol
// references, pc-relative and branch targets, register pairs) are therefore captured by the line regex itself, with exactly the scopes the
// operand rules give them (the grammar tests' snapshots hold both paths to that); any other
// operand list falls back to the capture with patterns.
const PSEUDO = 'SB|FP|SP|PC|IP|TLS';
// An operand ends before `, ` (the next one), the -gnu tail's spaces, a tab or the end. A shorter
// test than naming the tail (`(?=, | +//|…)` scans the padding twice); where the lookahead lets
// through an operand that is not followed by one of these, the rest of the line regex fails and
// the operand rules take the line.
const ATOM_END = '(?=[, \\t]|$)';

const IMMEDIATE_VALUE = '-?0x[0-9a-fA-F]+|-?\\d+(?:\\.\\d*)?(?:[eE][+-]?\\d+)?|\\((?:[^()\\t]|\\([^()\\t]*\\))*\\)';

// Operand shapes both the operand rules and the fast path use (one definition of their scopes).
const pcRelativePieces = () => [
  cap('-?\\d+', `constant.numeric.pc-offset${S}`),
  cap('\\(', `punctuation.section.parens.begin${S}`),
  cap('PC', `variable.language.pseudo-register${S}`),
  cap('\\)', `punctuation.section.parens.end${S}`),
];
/** `$sym+off(SB)`; `symbol` is the piece that captures the name (its scope differs by context). */
const symbolReferencePieces = (symbol) => [
  '(?:',
  cap('\\$', `punctuation.definition.immediate${S}`),
  ')?',
  symbol,
  '(?:',
  cap('[+-]', `keyword.operator.arithmetic${S}`),
  cap('0x[0-9a-fA-F]+|\\d+', `constant.numeric.offset${S}`),
  ')?',
  cap('\\(', `punctuation.section.parens.begin${S}`),
  cap('SB', `variable.language.pseudo-register${S}`),
  cap('\\)', `punctuation.section.parens.end${S}`),
];

/**
 * Operand shapes of the fast path, each with the scopes its operand rule gives it. `control` is
 * the group that matched when the mnemonic is a call, return or branch: there a hex number is a
 * branch target and a symbol a function (the `#operands-branch` rules), elsewhere an immediate
 * and a data symbol (`#operands`). The shapes test it instead of being written out once per
 * context, because every capture group of the line regex costs each line (see FAST_SLOTS).
 */
function fastShape(kind, control) {
  const parens = (inner) => [cap('\\(', `punctuation.section.parens.begin${S}`), ...inner, cap('\\)', `punctuation.section.parens.end${S}`)];
  switch (kind) {
    case 'target': // branch-target; only after a control-flow mnemonic
      return [
        ifMatched(control, ['(?:', cap('\\$', `punctuation.definition.immediate${S}`), ')?', cap(HEX, `constant.numeric.hex.address.target${S}`)], ['(?!)']),
      ];
    case 'pc-relative':
      return pcRelativePieces();
    case 'immediate':
      return [cap([cap('\\$|#', `punctuation.definition.immediate${S}`), `(?:${IMMEDIATE_VALUE})`], `constant.numeric.immediate${S}`)];
    case 'memory': // no index register; not on SB (a symbol reference) or PC (pc-relative)
      return [
        cap(
          [
            '(?:',
            cap('-?(?:0x[0-9a-fA-F]+|\\d+)', `constant.numeric.offset${S}`),
            ')?',
            ...parens(['(?:', cap('FP|SP|IP|TLS', `variable.language.pseudo-register${S}`), '|', cap(GO_REGISTER, `variable.other.register${S}`), ')']),
          ],
          `meta.memory-operand${S}`,
        ),
      ];
    case 'condition':
      return [cap(`(?:${CONDITIONS})(?![\\w.])`, `support.constant.condition${S}`)];
    case 'pseudo-register':
      return [cap(`(?:${PSEUDO})(?![\\w.])`, `variable.language.pseudo-register${S}`)];
    case 'register':
      return [cap(GO_REGISTER, `variable.other.register${S}`), '(?![\\w(.\\[])'];
    case 'register-pair': // arm64 LDP/STP `(R1, R2)`: punctuation and two go-registers
      return [
        cap('\\(', `punctuation.section.operand${S}`),
        cap(GO_REGISTER, `variable.other.register${S}`),
        ', ',
        cap(GO_REGISTER, `variable.other.register${S}`),
        cap('\\)', `punctuation.section.operand${S}`),
      ];
    case 'symbol-reference':
      return [
        cap(
          symbolReferencePieces(ifMatched(control, [cap(SYMBOL, `entity.name.function${S}`)], [cap(SYMBOL, `variable.other.symbol${S}`)])),
          `meta.symbol-reference${S}`,
        ),
      ];
    default:
      throw new Error(`no fast operand shape ${kind}`);
  }
}

/**
 * The shapes tried in each operand position, for all mnemonics. Every capture group of the line
 * regex costs each line about 25 ns, matched or not (vscode-oniguruma hands back every group), so
 * a shape is here only where it is common (measured on whole-binary dumps of the simulator,
 * amd64 and arm64); a rarer operand list goes to the operand rules (several µs a line). The most
 * common shape comes first, except where two shapes could match the same text: there the order
 * is the operand rules' order (a target before an immediate, a register before a condition, since
 * `CS` is both). The symbol reference, the costly one, is tried last, which is the same thing
 * since only it can end in `(SB)`.
 */
const FAST_SLOTS = [
  ['register', 'target', 'immediate', 'memory', 'pc-relative', 'condition', 'symbol-reference'],
  ['register', 'memory', 'pseudo-register', 'pc-relative', 'register-pair'],
  ['register', 'immediate', 'pc-relative'],
  ['register'],
];

/** One operand list in its own capture groups per position (a repeated group keeps only its last match). */
function fastOperands(control) {
  const pieces = [];
  FAST_SLOTS.forEach((kinds, i) => {
    if (i) pieces.push('(?:, ');
    pieces.push('(?:');
    kinds.forEach((kind, k) => pieces.push(...(k ? ['|'] : []), ...fastShape(kind, control)));
    pieces.push(')', ATOM_END);
  });
  for (let i = 1; i < FAST_SLOTS.length; i++) pieces.push(')?');
  return pieces;
}

// Operand text stops before the `-gnu` tail (`   // gnu`) or a tab (relocations, padding).
const OPERAND_TEXT = '[^\\t]*?';

// The mnemonic families, shared by the disassembly lines and the Go assembler lines: the
// control-flow ones (operands are targets), and the special ones before a line's own generic
// mnemonic. Fresh groups on each call: every regex numbers its own.
const controlMnemonic = () => [
  '(?:',
  cap(CALL, `keyword.control.call${S}`),
  '|',
  cap(RETURN, `keyword.control.return${S}`),
  '|',
  cap(BRANCH, `keyword.control.branch${S}`),
  ')',
  END,
];
const specialMnemonic = () => [
  cap(PRIVILEGED, `keyword.control.privileged${S}`),
  '|',
  cap(SYSCALL, `keyword.control.syscall${S}`),
  '|',
  cap(TRAP, `keyword.control.trap${S}`),
];
// arm64 post-/pre-index write-back: MOVD.W, LDP.P, VLD1.P
const writeback = () => ['(?:', cap('\\.[PW]', `storage.modifier.writeback${S}`), ')?'];

/** The instruction-text column: prefix, mnemonic by family, operands, -gnu tail, relocations. */
function instructionText() {
  const control = cap(''); // takes part in the match only after a call, return or branch mnemonic
  return [
    '(?:',
    cap(PREFIX, `storage.modifier.prefix${S}`),
    ')?',
    '(?:',
    ...controlMnemonic(),
    control,
    '|',
    '(?:',
    ...specialMnemonic(),
    '|',
    cap(UNKNOWN, `invalid.illegal.unknown-opcode${S}`),
    '|',
    cap('[^\\t ]+?', `keyword.other.mnemonic${S}`),
    ...writeback(),
    ')',
    END,
    ')',
    '(?: (?! )', // not the -gnu padding after an instruction without operands (`RET    // ret`)
    '(?:',
    ...fastOperands(control),
    '|',
    ifMatched(control, [cap(OPERAND_TEXT, { patterns: [{ include: '#operands-branch' }] })], [cap(OPERAND_TEXT, { patterns: [{ include: '#operands' }] })]),
    ')',
    ')?',
    // `(?<! )`: the padding starts after the operands' last character. Tried at every step of the
    // lazy operand text, ` +//` would otherwise rescan a run of spaces from each space in it.
    '(?:(?<! ) +',
    cap(['//', '[^\\t]*'], `comment.line.double-slash.gnu-syntax${S}`),
    ')?',
    '(?:\\t+',
    cap('\\[\\d+:\\d+\\][^\\t]*', { patterns: [{ include: '#relocations' }] }),
    ')?',
    '\\t*$',
  ];
}

// Lazy: the same split as `[^\t]*` (`\d+` must be followed by the TAB column break), but oniguruma
// takes about 20 ms to compile the greedy form at the start of the objdump line regex (2 ms lazy,
// measured with vscode-oniguruma), paid on the first line of every dump, inside VS Code's 500 ms
// tokenization budget for that line.
const fileLine = () => [
  cap('[^\\t]*?', `string.unquoted.source-file${S}`),
  cap(':', `punctuation.separator.line-number${S}`),
  cap('\\d+', `constant.numeric.line-number${S}`),
];
const address = () => cap(HEX, `constant.numeric.hex.address${S}`);
const encoding = () => cap('[0-9a-fA-F]+(?: [0-9a-fA-F]+)*', `comment.other.encoding${S}`);

// ---- line shapes (all single-line `match` rules, anchored at ^) ----

const textHeader = lineRule(`meta.function.header${S}`, [
  '^',
  cap('TEXT', `keyword.other.directive.text${S}`),
  ' ',
  cap('.+', `entity.name.function${S}`),
  cap('\\(', `punctuation.section.parens.begin${S}`),
  cap('SB', `variable.language.pseudo-register${S}`),
  cap('\\)', `punctuation.section.parens.end${S}`),
  '(?: ',
  '(?:',
  cap('gofile\\.\\.', `storage.modifier.object-file${S}`),
  ')?',
  // Not markup.underline.link: themes underline it (Dark+: `markup.underline`), which on a
  // string-coloured path reads as an error squiggle; the path is not a link the editor follows.
  cap('.*', `string.unquoted.path${S}`),
  ')?$',
]);

const objdumpInstruction = lineRule(`meta.instruction.objdump${S}`, [
  '^  ',
  ...fileLine(),
  '\\t+',
  address(),
  '\\t+',
  encoding(),
  '\\t+',
  ...instructionText(),
]);

const objdumpSourceInstruction = lineRule(`meta.instruction.objdump-source${S}`, ['^  ', address(), '\\t+', encoding(), '\\t+', ...instructionText()]);

const delveInstruction = lineRule(`meta.instruction.delve${S}`, [
  '^',
  '(?:',
  cap('=>', `markup.inserted.current-pc.delve${S}`),
  ')?',
  '\\t+',
  ...fileLine(),
  '\\t+',
  address(),
  '(?:',
  cap('\\*', `markup.deleted.breakpoint.delve${S}`),
  ')?',
  '\\t+',
  encoding(),
  '\\t+',
  ...instructionText(),
]);

const delvePrompt = lineRule(`meta.prompt.delve${S}`, [
  '^',
  cap('\\(dlv\\)', `keyword.other.prompt.delve${S}`),
  '(?: ',
  cap('.*', `string.unquoted.command.delve${S}`),
  ')?$',
]);

// Delve's own messages around a listing pasted from a terminal session.
const delveMessage = {
  name: `meta.message.delve${S} comment.line.message.delve${S}`,
  match:
    "^(?:> \\S.*|Type 'help' .*|Breakpoint \\d+ (?:set|cleared) at .*|Warning: .*|Showing .*" +
    '|Process \\d+ has exited.*|Command failed: .*|\\S+:\\d+: not connected to .*)$',
};

// Go assembler source (```goasm fences, snippets of .s files): directives, #include, and
// indented instructions. Only upper-case mnemonics, and not before `=`, `:=`, `(`, `,` or `.`, so
// that the Go source lines of -S dumps (indented with tabs too) are not taken for assembler.
const goAsmDirective = lineRule(`meta.directive.go-asm${S}`, [
  '^',
  cap('TEXT|DATA|GLOBL', `keyword.other.directive${S}`),
  '[ \\t]+',
  cap('[^\\t(]*(?:\\([^)\\t]*\\)[^\\t(]*)*?', `entity.name.function${S}`),
  cap('\\(', `punctuation.section.parens.begin${S}`),
  cap('SB', `variable.language.pseudo-register${S}`),
  cap('\\)', `punctuation.section.parens.end${S}`),
  cap('[,/][^\\t]*?', { patterns: [{ include: '#operands' }] }),
  '(?:[ \\t]*',
  cap('//.*', `comment.line.double-slash${S}`),
  ')?[ \\t]*$',
]);

const goAsmPreprocessor = {
  match: '^\\s*#\\s*(?:include|define|undef|ifdef|ifndef|if|else|endif)\\b.*$',
  name: `meta.preprocessor.go-asm${S} keyword.control.directive${S}`,
};

const goAsmInstruction = lineRule(`meta.instruction.go-asm${S}`, [
  '^[ \\t]+',
  '(?=[A-Z])',
  '(?:',
  cap(PREFIX, `storage.modifier.prefix${S}`),
  ')?',
  '(?:',
  ...controlMnemonic(),
  '(?![ \\t]*(?:[-+*/%&|^<>!:]?=|[,.(\\[{]))',
  '(?:[ \\t]+',
  cap('[^\\t]*?', { patterns: [{ include: '#operands-branch' }] }),
  ')?',
  '|',
  '(?:',
  ...specialMnemonic(),
  '|',
  cap('[A-Z][A-Z0-9_]+(?:\\.(?![PW](?=[ \\t]|$))[A-Z0-9_]+)*', `keyword.other.mnemonic${S}`),
  ...writeback(),
  ')',
  END,
  '(?![ \\t]*(?:[-+*/%&|^<>!:]?=|[,.(\\[{]))',
  '(?:[ \\t]+',
  cap('[^\\t]*?', { patterns: [{ include: '#operands' }] }),
  ')?',
  ')',
  '(?:[ \\t]*',
  cap('//.*', `comment.line.double-slash${S}`),
  ')?[ \\t]*$',
]);

// With -S, any other non-blank line is a line of Go source, printed raw. The Go grammar is
// optional: VS Code ships one, and where it is absent the line keeps only the meta scopes.
const goSourceLine = {
  name: `meta.source-line${S} meta.embedded.line.go`,
  match: '^.+$',
  captures: { 0: { patterns: [{ include: '#go-source' }] } },
  // vscode-textmate loads the grammars a grammar includes by walking `patterns` (not `captures`)
  // of the rules it reaches: listed here, source.go is loaded for the -S lines. A `match` rule
  // ignores `patterns` when it tokenizes, so this costs no scanner regex (a never-matching
  // top-level rule doing the same job cost every line a regex search).
  patterns: [{ include: '#go-source' }],
};
const goSource = { patterns: [{ include: 'source.go' }] };

// ---- operands ----

// Only where a symbol can begin (after a delimiter or at the start). Unanchored, the lazy SYMBOL
// runs to the end of every word before it fails, and the search retries it from each character:
// quadratic in a long operand that is not a reference (5,000 letters: 214 ms, 10,000: 0.9 s,
// beyond VS Code's 500 ms tokenization budget for a line).
const SYMBOL_START = '(?<![^\\s,(){}\\[\\]$])';

function symbolReference(symbolScope) {
  return lineRule(`meta.symbol-reference${S}`, [SYMBOL_START, ...symbolReferencePieces(cap(SYMBOL, symbolScope))]);
}

// Old Delve (< 1.27.1) wrote `$` before targets: `call $runtime.mapassign_faststr`.
function dollarSymbol(symbolScope) {
  return {
    match: '(\\$)([A-Za-z_][\\w.·/<>]*(?:\\(\\*?[^()\\s,]*\\)[\\w.·/<>]*)*)',
    captures: { 1: { name: `punctuation.definition.immediate${S}` }, 2: { name: symbolScope } },
  };
}

const operandRules = {
  'pc-relative': matchRule(pcRelativePieces()),
  immediate: {
    match: `(\\$|#)(${IMMEDIATE_VALUE})`,
    name: `constant.numeric.immediate${S}`,
    captures: { 1: { name: `punctuation.definition.immediate${S}` } },
  },
  'branch-target': {
    match: `(\\$)?(${HEX})(?![\\w(])`,
    captures: {
      1: { name: `punctuation.definition.immediate${S}` },
      2: { name: `constant.numeric.hex.address.target${S}` },
    },
  },
  'privileged-register': {
    match: '(?:\\b(?:CR(?:1[0-5]|[0-9])|DR[0-7]|GDTR|IDTR|LDTR|TR[0-7]|MSW|TASK)\\b|%?\\b(?:cr(?:1[0-5]|[0-9])|dr[0-7])\\b)',
    name: `variable.other.register.privileged${S}`,
  },
  'pseudo-register': {
    match: '\\b(?:SB|FP|SP|PC|IP|TLS)\\b',
    name: `variable.language.pseudo-register${S}`,
  },
  'go-register': {
    match: `\\b(${GO_REGISTER})(?:(\\.)(UXT[BHWX]|SXT[BHWX]))?(?:(\\.)(${ARRANGEMENT}))?(?:(\\[)(\\d+)(\\]))?(?![\\w(])`,
    captures: {
      1: { name: `variable.other.register${S}` },
      2: { name: `punctuation.separator.extend${S}` },
      3: { name: `keyword.operator.extend${S}` },
      4: { name: `punctuation.separator.arrangement${S}` },
      5: { name: `storage.modifier.arrangement${S}` },
      6: { name: `punctuation.section.brackets.begin${S}` },
      7: { name: `constant.numeric.index${S}` },
      8: { name: `punctuation.section.brackets.end${S}` },
    },
  },
  'native-register': {
    match: `(%)?\\b(${NATIVE_REGISTER})(?:(\\.)(\\d*[bhsdq]))?(?![\\w(])`,
    captures: {
      1: { name: `punctuation.definition.register${S}` },
      2: { name: `variable.other.register${S}` },
      3: { name: `punctuation.separator.arrangement${S}` },
      4: { name: `storage.modifier.arrangement${S}` },
    },
  },
  // `\b` first: without it the names' `[A-Z][A-Z0-9]*` ran from every letter of a word to its end
  // looking for `_EL` (quadratic: 5,000 letters took 203 ms); possessive, as `_` ends the run anyway.
  'system-register': {
    match: `\\b(?:(${PRIV_SYSREG_NAME}|${PRIV_SYSREG_NAME_LOWER})|(S[0-3]_[0-7]_C\\d{1,2}_C\\d{1,2}_[0-7]|[A-Z][A-Z0-9]*+_EL0|s[0-3]_[0-7]_c\\d{1,2}_c\\d{1,2}_[0-7]|[a-z][a-z0-9]*+_el0)\\b)`,
    captures: {
      1: { name: `support.constant.system-register.privileged${S}` },
      2: { name: `support.constant.system-register${S}` },
    },
  },
  condition: {
    match: `\\b(?:${CONDITIONS}|${CONDITIONS.toLowerCase()})\\b`,
    name: `support.constant.condition${S}`,
  },
  shift: {
    match: '(<<|>>|->|@>)(\\d+)|\\b(lsl|lsr|asr|ror|msl|[us]xt[bhwx])\\b',
    captures: {
      1: { name: `keyword.operator.shift${S}` },
      2: { name: `constant.numeric.shift-amount${S}` },
      3: { name: `keyword.operator.shift${S}` },
    },
  },
  size: {
    match: '\\b(?:byte|word|dword|qword|tbyte|tword|fword|oword|mmword|xmmword|ymmword|zmmword|ptr)\\b',
    name: `storage.modifier.size${S}`,
  },
  number: {
    match: '(-?0x[0-9a-fA-F]+)\\b|(-?\\b\\d+(?:\\.\\d*)?)',
    captures: { 1: { name: `constant.numeric.hex${S}` }, 2: { name: `constant.numeric.decimal${S}` } },
  },
  'operand-constant': {
    match: '\\b[A-Z][A-Za-z0-9_]*\\b',
    name: `support.constant.operand${S}`,
  },
  // Commas stay unscoped: every matched token costs a scanner call, and themes leave them plain.
  punctuation: {
    match: '([()\\[\\]{}])|([+\\-*:!.])',
    captures: { 1: { name: `punctuation.section.operand${S}` }, 2: { name: `keyword.operator${S}` } },
  },
  // `0x10(R14)`, `-80(RSP)`, `0(AX)(AX*8)`, `(R4)(R3<<3)`, `(R7)(R11.UXTW<<3)`, `0x18a2b(%rip)` in one
  // match (one scanner call instead of five); other shapes fall through to the single-token rules.
  memory: {
    match: `(-?(?:0x[0-9a-fA-F]+|\\d+))?(\\()(?:${MEM_BASE})(\\))(?:(\\()(?:${MEM_BASE})(?:(\\*)(\\d)|(<<)(\\d+)|(\\.)(UXT[BHWX]|SXT[BHWX])(?:(<<)(\\d+))?)?(\\)))?`,
    name: `meta.memory-operand${S}`,
    captures: {
      1: { name: `constant.numeric.offset${S}` },
      2: { name: `punctuation.section.parens.begin${S}` },
      3: { name: `variable.language.pseudo-register${S}` },
      4: { name: `variable.other.register${S}` },
      5: { name: `punctuation.section.parens.end${S}` },
      6: { name: `punctuation.section.parens.begin${S}` },
      7: { name: `variable.language.pseudo-register${S}` },
      8: { name: `variable.other.register${S}` },
      9: { name: `keyword.operator.scale${S}` },
      10: { name: `constant.numeric.scale${S}` },
      11: { name: `keyword.operator.shift${S}` },
      12: { name: `constant.numeric.shift-amount${S}` },
      13: { name: `punctuation.separator.extend${S}` },
      14: { name: `keyword.operator.extend${S}` },
      15: { name: `keyword.operator.shift${S}` },
      16: { name: `constant.numeric.shift-amount${S}` },
      17: { name: `punctuation.section.parens.end${S}` },
    },
  },
};

function identifier(scope) {
  return { match: '[A-Za-z_][\\w.·/<>]*(?:\\(\\*?[^()\\s,]*\\)[\\w.·/<>]*)*', name: scope };
}

const SHARED_OPERAND_TAIL = [
  'pc-relative',
  'immediate',
  'memory',
  'privileged-register',
  'pseudo-register',
  'go-register',
  'native-register',
  'system-register',
  'condition',
  'shift',
  'size',
  'number',
  'operand-constant',
].map((key) => ({ include: `#${key}` }));

const relocations = {
  match: `(\\[)(\\d+)(:)(\\d+)(\\])(R_[A-Za-z0-9_]+)(?:(:)(.*?))?(?= \\[\\d+:\\d+\\]|$)`,
  name: `meta.relocation${S}`,
  captures: {
    1: { name: `punctuation.section.brackets.begin${S}` },
    2: { name: `constant.numeric.relocation-offset${S}` },
    3: { name: `punctuation.separator.colon${S}` },
    4: { name: `constant.numeric.relocation-size${S}` },
    5: { name: `punctuation.section.brackets.end${S}` },
    6: { name: `storage.type.relocation${S}` },
    7: { name: `punctuation.separator.colon${S}` },
    8: { name: `variable.other.symbol${S}` },
  },
};

/** Number of capturing groups in a regex (escapes and character classes skipped). */
function countGroups(regex) {
  let n = 0;
  let inClass = false;
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(' && regex[i + 1] !== '?') n++;
  }
  return n;
}

/**
 * Whole-line rules as one regex: `^(?:(rule 1)|(rule 2)|…)`, each rule's name on its outer group,
 * its captures renumbered, tried in the order given. Every top-level rule costs every line, even
 * a line an earlier rule matched: oniguruma's regset runs each regex's literal prefilter over the
 * whole line on each scan (measured 0.1–0.5 µs per rule on an arm64 `-gnu` line), so the rare
 * line shapes share one regex.
 * vscode-textmate tokenizes a capture with `patterns` on the rule's scopes, not on the enclosing
 * capture's: such a capture gets its rule's name itself, so its tokens keep the scopes they had
 * with the rule on its own. A rule whose capture 0 has patterns (a whole line handed to another
 * grammar) puts them on its outer group.
 */
function mergeLineRules(rules) {
  const captures = {};
  const patterns = [];
  let offset = 0;
  const bodies = rules.map((r) => {
    if (!r.match.startsWith('^')) throw new Error(`not a whole-line rule: ${r.match}`);
    const outer = { name: r.name };
    for (const [k, v] of Object.entries(r.captures ?? {})) {
      if (k === '0') {
        if (!v.patterns || v.name || Object.keys(r.captures).length > 1) throw new Error('capture 0 merges only as patterns on a rule without other captures');
        outer.patterns = v.patterns;
      } else {
        captures[String(offset + 1 + Number(k))] = v.patterns ? { ...v, name: [r.name, v.name].filter(Boolean).join(' ') } : v;
      }
    }
    captures[String(offset + 1)] = outer;
    patterns.push(...(r.patterns ?? []));
    const body = r.match.slice(1);
    offset += 1 + countGroups(body);
    return `(${body})`;
  });
  return { match: `^(?:${bodies.join('|')})`, captures, ...(patterns.length ? { patterns } : {}) };
}

export function buildGrammar() {
  return {
    $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    name: 'Go objdump',
    scopeName: 'source.go-objdump',
    fileTypes: ['objdump', 'goobjdump'],
    firstLineMatch: '^TEXT .*\\(SB\\)',
    comment: 'Generated by syntaxes/build-go-objdump-grammar.mjs. Do not edit by hand.',
    // The instruction lines first: they are most lines, and no other rule matches them. Order
    // matters where two rules match at the same place: the header before the Go assembler
    // directive (both start with TEXT), instructions before Go assembler, Go source last.
    patterns: [{ include: '#objdump-instruction' }, { include: '#objdump-source-instruction' }, { include: '#delve-instruction' }, { include: '#other-lines' }],
    repository: {
      'other-lines': mergeLineRules([textHeader, delvePrompt, delveMessage, goAsmPreprocessor, goAsmDirective, goAsmInstruction, goSourceLine]),
      'text-header': textHeader,
      'objdump-instruction': objdumpInstruction,
      'objdump-source-instruction': objdumpSourceInstruction,
      'delve-instruction': delveInstruction,
      'delve-prompt': delvePrompt,
      'delve-message': delveMessage,
      'go-asm-directive': goAsmDirective,
      'go-asm-preprocessor': goAsmPreprocessor,
      'go-asm-instruction': goAsmInstruction,
      'go-source-line': goSourceLine,
      'go-source': goSource,
      operands: {
        patterns: [
          { include: '#symbol-reference' },
          { include: '#dollar-symbol' },
          ...SHARED_OPERAND_TAIL,
          { include: '#symbol' },
          { include: '#punctuation' },
        ],
      },
      'operands-branch': {
        patterns: [
          { include: '#call-target' },
          { include: '#dollar-function' },
          { include: '#branch-target' },
          ...SHARED_OPERAND_TAIL,
          { include: '#function' },
          { include: '#punctuation' },
        ],
      },
      'symbol-reference': symbolReference(`variable.other.symbol${S}`),
      'call-target': symbolReference(`entity.name.function${S}`),
      'dollar-symbol': dollarSymbol(`variable.other.symbol${S}`),
      'dollar-function': dollarSymbol(`entity.name.function${S}`),
      symbol: identifier(`variable.other.symbol${S}`),
      function: identifier(`entity.name.function${S}`),
      ...operandRules,
      relocations,
    },
  };
}

// Same shape as VS Code's built-in markdown fenced-code rules (extensions/markdown-basics).
export function buildMarkdownInjection() {
  return {
    $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    scopeName: 'markdown.go-objdump.codeblock',
    injectionSelector: 'L:text.html.markdown',
    comment: 'Generated by syntaxes/build-go-objdump-grammar.mjs. Do not edit by hand.',
    fileTypes: [],
    patterns: [{ include: '#fenced_code_block_go_objdump' }],
    repository: {
      fenced_code_block_go_objdump: {
        begin: '(^|\\G)(\\s*)(`{3,}|~{3,})\\s*(?i:(objdump|go-objdump|goasm)((\\s+|:|,|\\{|\\?)[^`]*)?$)',
        name: 'markup.fenced_code.block.markdown',
        end: '(^|\\G)(\\2|\\s{0,3})(\\3)\\s*$',
        beginCaptures: {
          3: { name: 'punctuation.definition.markdown' },
          4: { name: 'fenced_code.block.language.markdown' },
          5: { name: 'fenced_code.block.language.attributes.markdown' },
        },
        endCaptures: { 3: { name: 'punctuation.definition.markdown' } },
        patterns: [
          {
            begin: '(^|\\G)(\\s*)(.*)',
            while: '(^|\\G)(?!\\s*([`~]{3,})\\s*$)',
            contentName: 'meta.embedded.block.go-objdump',
            patterns: [{ include: 'source.go-objdump' }],
          },
        ],
      },
    },
  };
}

export const grammarPath = 'go-objdump.tmLanguage.json';
export const injectionPath = 'go-objdump.markdown-injection.tmLanguage.json';

export function renderJson(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = dirname(fileURLToPath(import.meta.url));
  writeFileSync(join(dir, grammarPath), renderJson(buildGrammar()));
  writeFileSync(join(dir, injectionPath), renderJson(buildMarkdownInjection()));
  console.log(`wrote ${grammarPath} and ${injectionPath}`);
}
