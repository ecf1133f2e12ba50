// Types for build-go-objdump-grammar.mjs (the generator of the go-objdump grammars).
export type RawGrammar = Record<string, unknown>;
export declare function buildGrammar(): RawGrammar;
export declare function buildMarkdownInjection(): RawGrammar;
export declare function renderJson(value: unknown): string;
export declare const grammarPath: string;
export declare const injectionPath: string;
