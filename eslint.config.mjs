// Flat config: typescript-eslint's recommended rules, a ban on `any` at module boundaries, and the
// layers of src/ (docs/architecture.md §2): each folder may import only the folders listed for it,
// so an arrow that runs the wrong way fails the lint.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FOLDERS = ['protocol', 'config', 'symbols', 'linux', 'delve', 'transport', 'target', 'bluepill', 'adapter', 'language', 'extension'];
/** Which src/ folders each folder may import (besides itself). Keep in step with the README's table. */
const MAY_IMPORT = {
  protocol: [],
  config: [],
  symbols: [],
  linux: [],
  delve: [],
  transport: ['config', 'linux', 'symbols'],
  target: ['config', 'delve', 'linux', 'symbols', 'transport'],
  bluepill: ['delve', 'linux', 'symbols'],
  adapter: ['bluepill', 'config', 'delve', 'linux', 'protocol', 'symbols', 'target', 'transport'],
  language: ['protocol', 'symbols'],
  extension: ['adapter', 'config', 'language', 'protocol', 'transport'],
};
/** Packages that belong to one layer: VS Code's API, the DAP library, the LSP libraries. */
const PACKAGE_HOME = {
  vscode: ['extension'],
  '@vscode/debugadapter': ['adapter'],
  'vscode-languageclient': ['extension'],
  'vscode-languageclient/node': ['extension'],
  'vscode-languageserver': ['language'],
  'vscode-languageserver/node': ['language'],
  'vscode-languageserver-textdocument': ['language'],
};

function layerRules(folder) {
  const banned = FOLDERS.filter((f) => f !== folder && !MAY_IMPORT[folder].includes(f));
  const packages = Object.entries(PACKAGE_HOME)
    .filter(([, homes]) => !homes.includes(folder))
    .map(([name]) => name);
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: packages.map((name) => ({ name, message: `only src/${PACKAGE_HOME[name].join(', src/')} may import ${name} (docs/architecture.md §2)` })),
          patterns: banned.length
            ? [
                {
                  group: banned.flatMap((f) => [`../${f}`, `../${f}/**`]),
                  message: `src/${folder} may import only ${MAY_IMPORT[folder].map((f) => `src/${f}`).join(', ') || 'its own folder'} (docs/architecture.md §2)`,
                },
              ]
            : [],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test/fixtures/**', '**/*.vsix', 'test/ui/screenshots/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-only-tests': 'off',
    },
  },
  ...FOLDERS.map(layerRules),
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
      },
    },
  },
  {
    // CommonJS modules that VS Code loads with require() (extensionTestsPath).
    files: ['test/electron/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', exports: 'writable', process: 'readonly', setTimeout: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
