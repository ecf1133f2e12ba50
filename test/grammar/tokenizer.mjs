// Loads the go-objdump grammar (and optional companions) into vscode-textmate with the
// oniguruma WASM engine, for tests, the grammar script and the benchmark. No VS Code needed.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const textmate = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

// A copy of test/support/repoRoot.ts: this .mjs runs under plain node (scripts/test-grammar.mjs),
// which cannot import TypeScript.
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const grammarFile = join(repoRoot, 'syntaxes', 'go-objdump.tmLanguage.json');
export const injectionFile = join(repoRoot, 'syntaxes', 'go-objdump.markdown-injection.tmLanguage.json');
export const GO_OBJDUMP_SCOPE = 'source.go-objdump';

let wasmLoaded;
function onigLib() {
  wasmLoaded ??= oniguruma.loadWASM(readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer);
  return wasmLoaded.then(() => ({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }));
}

/**
 * A registry knowing source.go-objdump plus `grammars` (scopeName -> file) and
 * `injections` (target scope -> injected scopeNames). Unknown scopes (e.g. source.go) resolve
 * to nothing, as in a VS Code without the Go extension's grammar.
 */
export function createRegistry({ grammars = {}, injections = {} } = {}) {
  const files = { [GO_OBJDUMP_SCOPE]: grammarFile, ...grammars };
  return new textmate.Registry({
    onigLib: onigLib(),
    loadGrammar: async (scopeName) => {
      const file = files[scopeName];
      return file ? textmate.parseRawGrammar(readFileSync(file, 'utf8'), file) : null;
    },
    getInjections: (scopeName) => injections[scopeName] ?? [],
  });
}

/** Tokenizes `text` line by line (split on \n, as the editor does) with the grammar `scopeName`. */
export async function tokenizeText(text, { scopeName = GO_OBJDUMP_SCOPE, registry = createRegistry() } = {}) {
  const grammar = await registry.loadGrammar(scopeName);
  if (!grammar) throw new Error(`grammar ${scopeName} did not load`);
  let ruleStack = textmate.INITIAL;
  return text.split(/\r?\n/).map((line) => {
    const result = grammar.tokenizeLine(line, ruleStack);
    ruleStack = result.ruleStack;
    return {
      text: line,
      tokens: result.tokens.map((t) => ({
        start: t.startIndex,
        end: Math.min(t.endIndex, line.length),
        text: line.slice(t.startIndex, t.endIndex),
        scopes: t.scopes,
      })),
    };
  });
}

/** Loads a grammar for raw speed tests: returns a function tokenizing all lines with tokenizeLine2. */
export async function loadLineTokenizer(scopeName = GO_OBJDUMP_SCOPE, registry = createRegistry()) {
  const grammar = await registry.loadGrammar(scopeName);
  if (!grammar) throw new Error(`grammar ${scopeName} did not load`);
  return (lines) => {
    let ruleStack = textmate.INITIAL;
    let tokens = 0;
    for (const line of lines) {
      const result = grammar.tokenizeLine2(line, ruleStack);
      ruleStack = result.ruleStack;
      tokens += result.tokens.length / 2;
    }
    return tokens;
  };
}

/**
 * Tokenizes one line from the initial state with vscode-textmate's time limit (as VS Code does,
 * with 500 ms): whether the tokenizer gave up before the end of the line, and its token count.
 */
export async function tokenizeWithTimeLimit(line, timeLimitMs, scopeName = GO_OBJDUMP_SCOPE, registry = createRegistry()) {
  const grammar = await registry.loadGrammar(scopeName);
  if (!grammar) throw new Error(`grammar ${scopeName} did not load`);
  const result = grammar.tokenizeLine2(line, textmate.INITIAL, timeLimitMs);
  return { stoppedEarly: result.stoppedEarly, tokens: result.tokens.length / 2 };
}
