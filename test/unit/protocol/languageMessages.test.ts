import { test } from 'node:test';
import assert from 'node:assert/strict';
import { functionDocumentUri, parseFunctionDocumentQuery, parseFunctionDocumentUri } from '../../../src/protocol/languageMessages';

test('function document URIs carry any file and function name', () => {
  const target = { file: '/srv/runsc & co/runsc?#%', name: 'gvisor.dev/gvisor/pkg/sentry/platform/kvm.(*machine).Get' };
  const uri = functionDocumentUri(target);
  assert.match(uri, /^go-objdump:\/kvm\.\(\*machine\)\.Get\.objdump\?/);
  assert.deepEqual(parseFunctionDocumentUri(uri), target);
  // VS Code hands the provider the decoded query
  assert.deepEqual(parseFunctionDocumentQuery(decodeURIComponent(uri.slice(uri.indexOf('?') + 1))), target);
  assert.equal(parseFunctionDocumentUri('file:///x.objdump?{}'), undefined);
  assert.equal(parseFunctionDocumentQuery('not json'), undefined);
});
