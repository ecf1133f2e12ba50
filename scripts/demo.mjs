// `npm run demo`: prepares the machine (scripts/setup.mjs), then runs the demo in TypeScript.
import { spawnSync } from 'node:child_process';
import { ensureDebianPackages, ensureNpmPackages } from './setup.mjs';

ensureDebianPackages();
ensureNpmPackages();
const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
