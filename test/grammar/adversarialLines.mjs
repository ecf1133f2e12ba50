// Adversarial line shapes for the go-objdump grammar: very long TEXT headers and generic
// instantiation names, long -S source lines, lines with thousands of operands, runs of one
// character, unterminated brackets. VS Code gives tokenizeLine2 a time budget per line (500 ms in
// its TextMateTokenizationSupport) and leaves the rest of a line that overruns it unscoped; the
// unit test checks that none of these stops early, the benchmark reports their cost.
// Plain JS, like tokenizer.mjs, so that plain node scripts can use it too.

/** `[{ name, line }]`, each line a few thousand characters (the longest about 10,000). */
export function adversarialLines() {
  const rep = (s, n) => s.repeat(n);
  const fields = (n) => Array.from({ length: n }, (_, i) => `F${i} int${i % 4 ? 64 : 32}`).join('; ');
  const shape = (n) => `go.shape.struct { ${fields(n)} }`;
  const gen2k = `main.Map[${shape(110)},go.shape.int]`; // ~2k
  const pre = '  main.go:27\t\t0x484620\t\te800000000\t\t';
  const out = [];
  const add = (name, line) => out.push({ name, line });
  add('TEXT 10k path', `TEXT main.main(SB) /${rep('very/long/path/', 700)}main.go`);
  add('TEXT 2k generic', `TEXT ${gen2k}(SB) /home/pi/src/demo/main.go`);
  add('TEXT 10k generic', `TEXT main.F[${shape(600)}](SB) /x.go`);
  add('TEXT no (SB) 5k', `TEXT ${rep('a.b(c)', 800)} /x.go`);
  add('TEXT unterminated bracket', `TEXT main.F[${shape(110)}(SB) /x.go`);
  add('TEXT unterminated brace', `TEXT main.F[go.shape.struct { ${fields(110)} ](SB) /x.go`);
  add('TEXT many (SB)', `TEXT ${rep('f(SB) ', 500)}`);
  add('TEXT spaces', `TEXT ${rep(' ', 5000)}x(SB)`);
  add('CALL 2k generic', `${pre}CALL ${gen2k}(SB)\t\t`);
  add('CALL 2k generic no SB', `${pre}CALL ${gen2k}\t\t`);
  add('LEAQ 2k generic sym', `${pre}LEAQ ${gen2k}+8(SB), AX\t\t`);
  add('MOVQ 2k generic unterminated', `${pre}MOVQ $main.F[${shape(110)}(SB), AX\t\t`);
  add('many operands', `${pre}VPERM ${Array.from({ length: 500 }, (_, i) => `X${i % 16}`).join(', ')}\t`);
  add('many memory operands', `${pre}MOVQ ${Array.from({ length: 300 }, (_, i) => `0x${i}(R${i % 16})(AX*8)`).join(', ')}\t`);
  add('operands 5k spaces', `${pre}MOVQ AX,${rep(' ', 5000)}BX\t`);
  add('gnu tail spaces', `${pre}MOVQ AX, BX${rep(' ', 5000)}// mov %rax,%rbx\t`);
  add('operand text 5k word', `${pre}MOVQ ${rep('a', 5000)}\t`);
  // quadratic before: the system-register rule ran `[a-z][a-z0-9]*` from every letter (0.9 s here)
  add('operand text 10k word', `${pre}MOVQ ${rep('a', 10000)}\t`);
  // quadratic before: the -gnu tail's ` +//` rescanned the spaces from each one (0.6 s here)
  add('operands 10k spaces', `${pre}MOVQ AX,${rep(' ', 10000)}BX\t`);
  add('operand 5k parens', `${pre}MOVQ $${rep('(', 2500)}\t`);
  add('operand 5k parens closed', `${pre}MOVQ $${rep('(1)', 1500)}\t`);
  add('operand 5k brackets', `${pre}MOVQ ${rep('[', 5000)}\t`);
  add('operand 5k braces', `${pre}MOVQ ${rep('{', 5000)}\t`);
  add('operand 5k dollars', `${pre}MOVQ ${rep('$', 5000)}\t`);
  add('operand 5k digits', `${pre}MOVQ ${rep('1', 5000)}\t`);
  add('operand 5k commas', `${pre}MOVQ ${rep(',', 5000)}\t`);
  add('operand 5k <<', `${pre}MOVQ ${rep('R1<<', 1200)}\t`);
  add('tabs only 10k', rep('\t', 10000));
  add('spaces only 10k', rep(' ', 10000));
  add('two spaces + 10k tabs', `  ${rep('\t', 10000)}`);
  add('instr with 5k tabs inside', `  main.go:1${rep('\t', 5000)}0x1\t90\tNOP`);
  add('-S source 5k', `\t\tx := ${rep('foo(bar, baz[i]) + ', 270)}1`);
  add('-S source string 5k', `\tfmt.Println("${rep('abc \\" ', 700)}`);
  add('-S source upper 5k', `\tMOVQ = ${rep('AX, ', 1200)}`);
  add('source 2sp 5k colon', `  ${rep('a:1 ', 1200)}`);
  add('delve 5k', `=>\tmain.go:27\t0x48462e*\t48896c2440\tmov qword ptr [${rep('rsp+', 1200)}0x40], rbp`);
  add('delve intel long', `\tmain.go:27\t0x48462e\t48896c2440\tmov ${Array.from({ length: 400 }, () => 'qword ptr [rsp+0x40]').join(', ')}`);
  add('goasm 5k', `\tMOVQ ${Array.from({ length: 600 }, (_, i) => `${i}(R${i % 16})`).join(', ')}`);
  add('goasm directive 5k', `TEXT ·f(SB),NOSPLIT,$0-${rep('8', 5000)}`);
  add('goasm directive unterminated', `TEXT ${rep('a(', 2500)}`);
  add('delve prompt 10k', `(dlv) ${rep('x', 10000)}`);
  add('relocs 5k', `${pre}CALL 0x0\t[1:4]R_CALL:${rep('runtime.x ', 500)}`);
  add('relocs many', `${pre}CALL 0x0\t${Array.from({ length: 300 }, (_, i) => `[${i}:4]R_CALL:runtime.f${i}`).join(' ')}`);
  add('encoding 5k', `  main.go:1\t0x1\t${rep('00000000 ', 600)}\t?`);
  add('arm64 5k', `  main.go:1\t0x1\td503201f\tADD ${Array.from({ length: 500 }, (_, i) => `R${i % 30}<<${i % 63}`).join(', ')}\t`);
  return out;
}
