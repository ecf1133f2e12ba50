import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toDelveHitCond } from '../../../src/adapter/hitCondition';
import { parseLogMessage, renderLogMessage } from '../../../src/adapter/logMessage';

test('DAP hit conditions become Delve HitCond', () => {
  assert.equal(toDelveHitCond('5'), '>= 5');
  assert.equal(toDelveHitCond('== 3'), '== 3');
  assert.equal(toDelveHitCond('>10'), '> 10');
  assert.equal(toDelveHitCond('%2'), '% 2');
  assert.equal(toDelveHitCond(''), undefined);
  assert.equal(toDelveHitCond(undefined), undefined);
  assert.throws(() => toDelveHitCond('often'), /not understood/);
});

test('logpoint messages: {expressions} are evaluated, errors shown inline, text kept', async () => {
  const parts = parseLogMessage('trip={trip} tid={c.tid} {} {bad} end');
  const text = await renderLogMessage(parts, async (e) => {
    if (e === 'bad') throw new Error('no bad');
    return `<${e}>`;
  });
  assert.equal(text, 'trip=<trip> tid=<c.tid> {} <no bad> end');
  assert.deepEqual(parseLogMessage('no braces'), [{ text: 'no braces' }]);
  assert.deepEqual(parseLogMessage('open { only'), [{ text: 'open { only' }]);
});
