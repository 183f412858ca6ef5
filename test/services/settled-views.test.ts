import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SettledViews } from '../../src/services/settled-views.js';

test('SettledViews: per app and id, frozen, bounded with the oldest going first', () => {
  const views = new SettledViews<{ id: number }>(3);
  views.remember(1, 10, { id: 10 });
  assert.deepEqual(views.get(1, 10), { id: 10 });
  assert.equal(views.get(2, 10), undefined, 'another app does not see it');
  assert.ok(Object.isFrozen(views.get(1, 10)));
  views.remember(1, 11, { id: 11 });
  views.remember(1, 12, { id: 12 });
  views.remember(1, 13, { id: 13 });
  assert.equal(views.size, 3);
  assert.equal(views.get(1, 10), undefined);
  assert.deepEqual(views.get(1, 13), { id: 13 });
});
