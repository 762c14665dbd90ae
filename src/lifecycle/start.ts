// runtime.md "Start": release the process blocked on the exec fifo, then run the poststart hooks.
import { closeSync, constants, openSync, readSync, rmSync } from 'node:fs';
import { runHooks } from '../container/hooks';
import { ContainerError, containerDir, fifoPath, loadConfig, loadRecord, lockContainer, unlockContainer, type ContainerRecord } from '../container/store';
import { containerStatus, hookStateJson, isAlive, killAndWait } from '../container/status';
import { hostFailure } from '../errors';
import { ConfigError } from '../plan/types';
import type { RuntimeContext } from './context';
import { undoAndThrow } from './undo';

const ALREADY_RUNNING = 'cannot start an already running container';

/** The fifo outlived a start that was killed after releasing it: the process runs, and must not be stopped. */
class NotWaiting extends ContainerError {}

/**
 * The exec fifo opened for blocking reads, at once: an O_RDWR open of a fifo never waits (Linux), and while it is
 * held a writer exists, so the O_RDONLY open through it returns at once too. It is closed straight away: from then
 * on a read waits for the shim's next bytes and sees EOF when no writer is left (the shim exec'd, or is gone),
 * never waits for one that will not come. (Node cannot clear O_NONBLOCK on an fd; fcntl through ffi-rs would
 * cost start its ~2 ms load.)
 */
function openExecFifo(fifo: string): number {
  let rw: number;
  try {
    rw = openSync(fifo, constants.O_RDWR);
  } catch (e) {
    throw hostFailure(`start: opening the exec fifo ${fifo}`, e);
  }
  try {
    return openSync(`/proc/self/fd/${rw}`, constants.O_RDONLY);
  } catch (e) {
    throw hostFailure(`start: opening the exec fifo ${fifo}`, e);
  } finally {
    closeSync(rw);
  }
}

/**
 * Reads the fifo to its end. The shim filled it ('1', then newlines, as much as the pipe holds) at create and
 * now writes one more byte to it: that write returns once this has read what was there. Then the shim writes an
 * error text if a startContainer hook fails, and closes the fifo by exec'ing the user's program: EOF after '1'
 * and whitespace means the program runs. Of starts racing, the one whose read took the fill's '1' started the
 * container; the others are told it runs (or, if it died, that it exited).
 */
function releaseExecFifo(record: ContainerRecord, fifo: string): void {
  const fd = openExecFifo(fifo);
  const buf = Buffer.alloc(4096);
  let received = '';
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch (e) {
        throw hostFailure(`start: reading the exec fifo ${fifo}`, e);
      }
      if (n === 0) break;
      received += buf.toString('utf8', 0, n);
    }
  } finally {
    closeSync(fd);
  }
  // nothing of create's fill: another start released the process, or a start killed after releasing it left
  // the fifo behind (the process runs and must not be stopped), or the shim died before start
  if (!received.startsWith('1')) {
    if (isAlive(record)) throw new NotWaiting(ALREADY_RUNNING);
    throw new ContainerError('container process exited before start');
  }
  const error = received.slice(1).trim();
  if (error) throw new ContainerError(error.replace(/^ERR \d+ \d+ /, ''));
}

/**
 * Starts a created container without its lock: the lock is the one thing start would need ffi-rs for (its load is
 * a tenth of start's time), and engines start every container they run. What the lock kept apart, the fifo
 * decides or the order of the calls explains:
 * - the record is read whole (each write is a rename); a container still `creating` is waited for by taking
 *   its lock, which the create holds until the container is created, and looked at again;
 * - starts racing: exactly one read takes the fill's '1' (releaseExecFifo);
 * - a delete (it must be --force for a created container) or kill meanwhile kills the process: the start then
 *   either released it first, or reads EOF and fails, as either order under the lock;
 * - a pause that froze the cgroup since the check keeps the shim from answering the release: start returns
 *   once the container is resumed;
 * - exec, update and checkpoint need a running container, which only this start makes.
 */
export async function startContainer(ctx: RuntimeContext, id: string): Promise<ContainerRecord> {
  const dir = containerDir(ctx.root, id);
  let record = loadRecord(ctx.root, id);
  let status = containerStatus(record, dir);
  if (status === 'creating') {
    unlockContainer(lockContainer(dir));
    record = loadRecord(ctx.root, id);
    status = containerStatus(record, dir);
  }
  if (status === 'stopped') throw new ContainerError('cannot start a container that has stopped');
  if (status === 'running') throw new ContainerError(ALREADY_RUNNING);
  if (status !== 'created') throw new ContainerError(`cannot start a container in the ${status} state`);
  const config = loadConfig(dir);
  // config.md: process is REQUIRED when start is called; create accepted the container without it
  if (!config.process) throw new ConfigError('process: is required to start a container (config.json has none)');
  const fifo = fifoPath(dir);
  const stop = (): void => killAndWait(record.pid);
  const stopping = `stopping container ${record.id} after its start failed`;
  try {
    releaseExecFifo(record, fifo);
  } catch (e) {
    if (e instanceof NotWaiting) throw e;
    await undoAndThrow(e, stopping, stop);
  } finally {
    rmSync(fifo, { force: true });
  }
  try {
    await runHooks(config.hooks?.poststart, 'poststart', hookStateJson(record, 'running'));
  } catch (e) {
    // runtime-spec 1.3: a failing poststart hook fails start, and the container is stopped
    await undoAndThrow(e, stopping, stop);
  }
  return record;
}
