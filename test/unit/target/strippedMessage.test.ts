import { test } from 'node:test';
import assert from 'node:assert/strict';
import { versionAtLeast } from '../../../src/target/strippedBinary';
import { STRIPPED_MIN_DELVE, strippedMessage } from '../../../src/target/strippedMessage';

test('Delve versions compare by number, not by text', () => {
  assert.equal(versionAtLeast('1.20.2', STRIPPED_MIN_DELVE), false);
  assert.equal(versionAtLeast('1.21.0', STRIPPED_MIN_DELVE), true);
  assert.equal(versionAtLeast('1.24.0', STRIPPED_MIN_DELVE), true);
  assert.equal(versionAtLeast('1.3.0', STRIPPED_MIN_DELVE), false);
  assert.equal(versionAtLeast('2.0', STRIPPED_MIN_DELVE), true);
});

test('the refusal names the binary, the machine, the Delve found, and each way out as a command', () => {
  const m = strippedMessage({ binaryPath: '/usr/bin/runsc', hasSymtab: false, delveVersion: '1.20.2', dlvPath: 'dlv', where: 'pi@rack3' });
  assert.match(
    m,
    /^The sandbox's binary \/usr\/bin\/runsc on pi@rack3 is stripped \(no DWARF, no \.symtab; only \.gopclntab\), and Delve 1\.20\.2 \(dlv\) there/,
  );
  assert.match(m, /Nothing was started\./);
  for (const way of ['sudo apt-get install delve', 'go install github.com/go-delve/delve/cmd/dlv@latest', 'go build -o runsc-debug ./runsc'])
    assert.ok(m.includes(way), way);
  assert.doesNotMatch(strippedMessage({ binaryPath: '/x', hasSymtab: true, delveVersion: undefined, dlvPath: '/opt/dlv', where: 'here' }), /no \.symtab/);
});
