// The container's processes start with no signal blocked or ignored, as runc's do. runt's own engine ignores
// SIGPIPE and SIGXFSZ, and an ignored signal survives execve: the shim is started with every disposition
// reset and an empty mask, and passes that on to the init and to exec'd processes.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, runningContainer, setup } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

/** grep itself, not a shell, which sets dispositions of its own (busybox sh ignores SIGQUIT). */
const MASKS = ['grep', '-E', '^Sig(Blk|Ign)', '/proc/self/status'];
const NONE = 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n';

/** The SigBlk and SigIgn lines of a host pid's status. */
function masksOf(pid: number): string {
  return `${readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .filter((l) => /^Sig(Blk|Ign):/.test(l))
    .join('\n')}\n`;
}

t.test('run, run -d, exec and exec -d: no signal blocked or ignored in the container', async (t) => {
  const env = setup(t);
  const run = env.runt(['run', '-b', env.bundle(MASKS), env.id('fg')]);
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stdout, NONE, 'run in the foreground');

  const { id, pid } = runningContainer(env);
  t.equal(masksOf(pid), NONE, 'the init of run -d');
  const ex = env.runt(['exec', id, ...MASKS]);
  t.equal(ex.status, 0, ex.stderr);
  t.equal(ex.stdout, NONE, 'exec in the foreground');
  const pidFile = join(env.tmp, 'exec.pid');
  const detached = env.runt(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '300']);
  t.equal(detached.status, 0, detached.stderr);
  t.equal(masksOf(Number(readFileSync(pidFile, 'utf8'))), NONE, 'exec -d');
});
