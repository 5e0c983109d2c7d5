import {expect, test} from 'vitest';
import {PgLayerError} from './errors.ts';
import {isValidAppID, shardNames} from './shard-names.ts';

test('every upstream name derives from the app id', () => {
  expect(shardNames('my_app2')).toEqual({
    schema: 'zync_my_app2',
    cvrSchema: 'zync_my_app2_cvr',
    publication: 'zync_my_app2_pub',
    slot: 'zync_my_app2_slot',
  });
});

test.each(['', 'App', 'a-b', 'a;drop', 'a b', 'é'])('app id %j is refused', appID => {
  expect(isValidAppID(appID)).toBe(false);
  expect(() => shardNames(appID)).toThrow(PgLayerError);
  expect(() => shardNames(appID)).toThrow(/lowercase letters, digits and underscores/);
});
