// runtime.md "Start": release the process blocked on the exec fifo, then run the poststart hooks.
import { constants, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { runHooks } from '../container/hooks';
import { ContainerError, containerDir, fifoPath, loadConfig, loadRecord, lockContainer, unlockContainer, type ContainerRecord } from '../container/store';
import { containerStatus, hookStateJson, isAlive, killAndWait } from '../container/status';
import { errnoOf, hostFailure } from '../errors';
import { ConfigError } from '../plan/types';
import type { RuntimeContext } from './context';
import { undoAndThrow } from './undo';
import { setBlocking } from '../sys/native';
import { sleepMs } from '../sys/sleep';

const WRITER_TIMEOUT_MS = 10_000;
const ALREADY_RUNNING = 'cannot start an already running container';

/** The fifo outlived a start that was killed after releasing it: the process runs, and must not be stopped. */
class NotWaiting extends ContainerError {}

/**
 * Reads the fifo, which the shim filled ('1', then newlines) at create and now writes one more byte to: that
 * write returns once this has read what was there. Then the shim writes an error text if a startContainer hook
 * fails, and closes the fifo by exec'ing the user's program: EOF after '1' and whitespace means the program runs.
 */
function releaseExecFifo(record: ContainerRecord, fifo: string): void {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw hostFailure(`start: opening the exec fifo ${fifo}`, e);
  }
  const buf = Buffer.alloc(4096);
  let received = '';
  let blocking = false;
  let exited = false;
  // a created container's shim holds the fifo's write end, so its writer is there at once; one that never
  // shows up is not waiting (its process runs something else): give up rather than spin
  const deadline = Date.now() + WRITER_TIMEOUT_MS;
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch (e) {
        if (errnoOf(e) !== 'EAGAIN') throw hostFailure(`start: reading the exec fifo ${fifo}`, e);
        n = -1;
      }
      if (n > 0) {
        received += buf.toString('utf8', 0, n);
        // the shim is there: from now on a read waits for its next byte or its EOF (exec or exit), with no
        // polling interval added to start
        if (!blocking) setBlocking(fd);
        blocking = true;
        continue;
      }
      if (n === 0 && received.length > 0) break; // the shim closed its end: exec'd or failed
      // no writer yet (n === 0) or nothing written yet (EAGAIN): the shim is on its way, unless it died.
      // Between the read above and this check it may have written, exec'd a short program and exited:
      // what it wrote stays in the fifo, so one more read decides.
      if (!isAlive(record)) {
        if (exited) throw new ContainerError('container process exited before start');
        exited = true;
        continue;
      }
      if (received.length === 0 && Date.now() > deadline) throw new NotWaiting(ALREADY_RUNNING);
      sleepMs(1);
    }
  } finally {
    closeSync(fd);
  }
  const error = received.slice(1).trim();
  if (error) throw new ContainerError(error.replace(/^ERR \d+ \d+ /, ''));
}

export async function startContainer(ctx: RuntimeContext, id: string): Promise<ContainerRecord> {
  const dir = containerDir(ctx.root, id);
  const lock = lockContainer(dir);
  try {
    return await startLocked(dir, loadRecord(ctx.root, id));
  } finally {
    unlockContainer(lock);
  }
}

async function startLocked(dir: string, record: ContainerRecord): Promise<ContainerRecord> {
  const status = containerStatus(record, dir);
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
