// Types for tokenizer.mjs (plain JS so that scripts/test-grammar.mjs can use it without tsx).
export interface Token {
  start: number;
  end: number;
  text: string;
  scopes: string[];
}
export interface TokenizedLine {
  text: string;
  tokens: Token[];
}
export interface RegistryOptions {
  grammars?: Record<string, string>;
  injections?: Record<string, string[]>;
}
export declare const repoRoot: string;
export declare const grammarFile: string;
export declare const injectionFile: string;
export declare const GO_OBJDUMP_SCOPE: string;
export interface GrammarRegistry {
  readonly __registry: unique symbol;
}
export declare function createRegistry(options?: RegistryOptions): GrammarRegistry;
export declare function tokenizeText(text: string, options?: { scopeName?: string; registry?: GrammarRegistry }): Promise<TokenizedLine[]>;
export declare function loadLineTokenizer(scopeName?: string, registry?: GrammarRegistry): Promise<(lines: readonly string[]) => number>;
export declare function tokenizeWithTimeLimit(
  line: string,
  timeLimitMs: number,
  scopeName?: string,
  registry?: GrammarRegistry,
): Promise<{ stoppedEarly: boolean; tokens: number }>;
