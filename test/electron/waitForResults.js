// The extensionTestsPath module of `npm run test:electron`. The suites themselves run in the
// test-only runner extension (test/ext-tests), exactly as in code-server; this waits for its
// results file and fails the run when a test failed.
const { existsSync, readFileSync } = require('node:fs');

exports.run = async function run() {
  const file = process.env.BLUEPILL_TESTS_RESULTS;
  if (!file) throw new Error('BLUEPILL_TESTS_RESULTS is not set');
  const deadline = Date.now() + 180000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no results in ${file} after 180 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const results = JSON.parse(readFileSync(file, 'utf8'));
  const failed = results.tests.filter((t) => t.state === 'failed');
  for (const t of results.tests)
    console.log(`${t.state === 'failed' ? 'not ok' : 'ok'} - ${[...t.suite, t.title].join(' › ')}${t.error ? `: ${t.error}` : ''}`);
  if (results.runnerError) throw new Error(`runner: ${results.runnerError}`);
  if (failed.length) throw new Error(`${failed.length} of ${results.tests.length} extension-host tests failed`);
};
