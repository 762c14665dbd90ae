import t from 'tap';
import { constants } from 'node:os';
import { SIGNALS } from '../../src/sys/signals';

t.test("runt's signal table is node:os's on this host", async (t) => {
  t.same({ ...SIGNALS }, { ...constants.signals });
});
