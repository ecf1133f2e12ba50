// The repository's root directory, for tests, bench and scripts that need a path inside it
// (fixtures, scripts/, node_modules/, the packaged extension). The one definition: .ts files import
// it from here; only .mjs/.js files that cannot import TypeScript keep their own one-liner.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
