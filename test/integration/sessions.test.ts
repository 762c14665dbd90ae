// Every process runt starts leads a session (and so a process group) of its own, as runc's do: an engine that
// signals the container's process group (conmon at podman's --timeout) never reaches itself or runt's caller.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, readState, runningContainer, setup } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

/** pgrp and session of a host pid (/proc/PID/stat fields 5 and 6, after the command's parentheses). */
function sessionOf(pid: number | 'self'): { pgrp: number; sid: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pgrp: Number(f[2]), sid: Number(f[3]) };
}

t.test("the container's init and an exec'd process lead their own sessions, not runt's caller's", async (t) => {
  const env = setup(t);
  const caller = sessionOf('self');
  const { id, pid } = runningContainer(env);
  t.same(sessionOf(pid), { pgrp: pid, sid: pid }, 'init (run -d): a session leader');
  t.not(sessionOf(pid).sid, caller.sid, "not the caller's session");

  const pidFile = join(env.tmp, 'exec.pid');
  const ex = env.runt(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '300']);
  t.equal(ex.status, 0, ex.stderr);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  t.same(sessionOf(execPid), { pgrp: execPid, sid: execPid }, 'exec -d: a session leader');

  // in the foreground too, with and without a pid namespace of its own: the process sees itself as leader
  const fg = env.runt(['exec', id, 'sh', '-c', 'cut -d" " -f1,5,6 /proc/self/stat']);
  t.match(fg.stdout, /^(\d+) \1 \1\n$/, `exec in the foreground: pid, pgrp and sid are one (${fg.stdout.trim()})`);
  const created = env.id('created');
  t.equal(env.runt(['create', '-b', env.bundle(['sleep', '300']), created]).status, 0);
  const cpid = readState(env, created).pid as number;
  t.same(sessionOf(cpid), { pgrp: cpid, sid: cpid }, 'create: a session leader before start');
  const run = env.runt(['run', '-b', env.bundle(['sh', '-c', 'cut -d" " -f1,5,6 /proc/self/stat']), env.id('fg')]);
  t.equal(run.stdout, '1 1 1\n', 'run in the foreground: the init leads its session');
});
