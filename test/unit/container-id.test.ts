// runc's rule for ids (letters, digits, _ + - .; not "." or ".."), and the state path's length limit in bytes.
import t from 'tap';
import { checkId, containerDir } from '../../src/container/store';

const RUNC_RULE = /^[\w+.-]+$/;

t.test('checkId takes exactly the ids runc takes', async (t) => {
  // every character of Latin-1 and beyond, alone and between two letters
  const chars = Array.from({ length: 0x180 }, (_, c) => String.fromCharCode(c));
  const ids = ['a', 'A-z_0.9+x', 'x'.repeat(247), '', '.', '..', '...', '.a', 'a/b', '../x', 'a b', 'é', 'a\u0000', 'a:b', 'a@b', '-', '+', '_'];
  ids.push(...chars, ...chars.map((c) => `a${c}b`));
  const verdicts = ids.map((id) => {
    try {
      checkId(id);
      return true;
    } catch {
      return false;
    }
  });
  t.same(
    verdicts,
    ids.map((id) => RUNC_RULE.test(id) && id !== '.' && id !== '..'),
  );
});

t.test("containerDir counts the path's bytes, not its characters", async (t) => {
  const id = 'c1';
  const fits = `/${'é'.repeat(1990)}`; // 3981 bytes: with what runt adds below the id, under PATH_MAX
  const over = `/${'é'.repeat(2040)}`; // 4081 bytes
  t.equal(containerDir(fits, id), `${fits}/${id}`);
  t.throws(() => containerDir(over, id), /its paths would pass 4096 bytes/);
});
