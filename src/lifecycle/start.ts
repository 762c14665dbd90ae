// runtime.md "Start": release the process blocked on the exec fifo, then run the poststart hooks.
import { closeSync, constants, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { runHooks } from '../container/hooks';
import {
  ContainerError,
  containerDir,
  fifoPath,
  heldPath,
  isCurrentDir,
  loadConfig,
  loadRecord,
  lockContainer,
  NOT_EXIST,
  openContainerDir,
  unlockContainer,
  type ContainerRecord,
} from '../container/store';
import { containerStatus, hookStateJson, isAlive, killAndWait, type Status } from '../container/status';
import { errnoOf, hostFailure } from '../errors';
import { ConfigError } from '../plan/types';
import type { RuntimeContext } from './context';
import { undoAndThrow } from './undo';

const ALREADY_RUNNING = 'cannot start an already running container';
const ONE = 0x31; // '1', the first byte of the exec fifo's fill

/** This start did not release the process: another one did, or it is gone. Nothing of it is this start's to stop. */
class NotReleased extends ContainerError {}

function notReleased(record: ContainerRecord): NotReleased {
  return new NotReleased(isAlive(record) ? ALREADY_RUNNING : 'container process exited before start');
}

/**
 * The exec fifo opened for blocking reads, at once: an O_RDWR open of a fifo never waits (Linux), and while it is
 * held a writer exists, so the O_RDONLY open through it returns at once too. It is closed straight away: from then
 * on a read waits for the shim's next bytes and sees EOF when no writer is left (the shim exec'd, or is gone),
 * never waits for one that will not come. (Node cannot clear O_NONBLOCK on an fd; fcntl through ffi-rs would
 * cost start its ~2 ms load.) No fifo: another start released the process and removed it, or a delete the
 * container.
 */
function openExecFifo(record: ContainerRecord, fifo: string, shown: string): number {
  let rw: number;
  try {
    rw = openSync(fifo, constants.O_RDWR);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw notReleased(record);
    throw new NotReleased(hostFailure(`start: opening the exec fifo ${shown}`, e).message);
  }
  try {
    return openSync(`/proc/self/fd/${rw}`, constants.O_RDONLY);
  } catch (e) {
    throw new NotReleased(hostFailure(`start: opening the exec fifo ${shown}`, e).message);
  } finally {
    closeSync(rw);
  }
}

/**
 * Reads the fifo to its end. The shim filled it ('1', then newlines: one page, all the pipe holds) at create
 * and now writes one more byte to it, which returns once the page is read, whole. Then the shim writes an error
 * text if a startContainer hook fails, and closes the fifo by exec'ing the user's program: EOF after '1' and
 * whitespace means the program runs. Of starts racing, the one whose read took the fill's '1' released the
 * process; the others throw NotReleased. (What the shim writes after the fill goes to whichever of them reads
 * it: an error text read by another than the one that released the process leaves that one's start reporting
 * success for a container that then exits, as runc's does; runc has no such error text at all.)
 */
function releaseExecFifo(record: ContainerRecord, fifo: string, shown: string): void {
  const fd = openExecFifo(record, fifo, shown);
  let rest: string;
  try {
    // The first read takes the whole fill in one call (pages are at most 64 KB): the '1' it starts with says
    // this start released the process, and the page is emptied at once, so the shim goes on even if this start
    // is killed right after. The rest of that read is the fill's newlines: nothing in it to look at.
    const fill = new Uint8Array(65536);
    let n: number;
    try {
      n = readSync(fd, fill);
    } catch (e) {
      throw new NotReleased(hostFailure(`start: reading the exec fifo ${shown}`, e).message);
    }
    // nothing of create's fill: another start released the process, or a start killed after releasing it left
    // the fifo behind (the process runs and must not be stopped), or the shim died before start. The fifo goes
    // (a status reads its presence as `created`); one this start could not open or read stays
    if (n === 0 || fill[0] !== ONE) {
      rmSync(fifo, { force: true });
      throw notReleased(record);
    }
    try {
      // then to EOF, as a string the engine decodes natively (no Buffer: its first use costs a call ~0.7 ms)
      rest = readFileSync(fd, 'utf8');
    } catch (e) {
      throw hostFailure(`start: reading the exec fifo ${shown}`, e);
    }
  } finally {
    closeSync(fd);
  }
  const error = rest.trim();
  if (error) throw new ContainerError(error.replace(/^ERR \d+ \d+ /, ''));
}

/**
 * The record of the container at `dir` and its status, both of the dir held by `held`: the record is read by
 * name, and is that dir's only if the name still leads there afterwards (a deleted dir never comes back).
 */
function look(root: string, id: string, dir: string, held: number): { record: ContainerRecord; status: Status } {
  const record = loadRecord(root, id);
  if (!isCurrentDir(dir, held)) throw new ContainerError(NOT_EXIST);
  return { record, status: containerStatus(record, heldPath(held)) };
}

/**
 * Starts a created container without its lock: the lock is the one thing start would need ffi-rs for (its load is
 * a tenth of start's time), and engines start every container they run. What the lock kept apart, the fifo
 * decides or the order of the calls explains:
 * - the container's dir is held open from the first look: its record, config and fifo are that dir's, even if
 *   it is deleted and another made under its id meanwhile; a container still `creating` is waited for by
 *   taking its lock, which the create holds until the container is created, and looked at again;
 * - starts racing: exactly one read takes the fill's '1' (releaseExecFifo); only that start ever stops the
 *   container when its start fails;
 * - a delete (it must be --force for a created container) or kill meanwhile kills the process: the start then
 *   either released it first, or reads EOF or finds no fifo, and fails without stopping anything; a delete
 *   after the release may run the poststop hooks while this start runs the poststart ones (under the lock the
 *   delete waited for them);
 * - a pause that froze the cgroup since the check keeps the shim from answering the release: start returns
 *   once the container is resumed;
 * - exec, update and checkpoint need a running container, which only this start makes.
 */
export async function startContainer(ctx: RuntimeContext, id: string): Promise<ContainerRecord> {
  const dir = containerDir(ctx.root, id);
  const held = openContainerDir(dir);
  try {
    let { record, status } = look(ctx.root, id, dir, held);
    if (status === 'creating') {
      // the create holds the lock until the container is created; start then goes on without it
      unlockContainer(lockContainer(dir));
      ({ record, status } = look(ctx.root, id, dir, held));
    }
    if (status === 'stopped') throw new ContainerError('cannot start a container that has stopped');
    if (status === 'running') throw new ContainerError(ALREADY_RUNNING);
    if (status !== 'created') throw new ContainerError(`cannot start a container in the ${status} state`);
    const at = heldPath(held);
    const config = loadConfig(at);
    // config.md: process is REQUIRED when start is called; create accepted the container without it
    if (!config.process) throw new ConfigError('process: is required to start a container (config.json has none)');
    const started = record;
    const stop = (): void => killAndWait(started.pid);
    const stopping = `stopping container ${record.id} after its start failed`;
    try {
      releaseExecFifo(record, fifoPath(at), fifoPath(dir));
    } catch (e) {
      if (e instanceof NotReleased) throw e;
      rmSync(fifoPath(at), { force: true });
      await undoAndThrow(e, stopping, stop);
    }
    rmSync(fifoPath(at), { force: true });
    try {
      await runHooks(config.hooks?.poststart, 'poststart', () => hookStateJson(record, 'running'));
    } catch (e) {
      // runtime-spec 1.3: a failing poststart hook fails start, and the container is stopped
      await undoAndThrow(e, stopping, stop);
    }
    return record;
  } finally {
    closeSync(held);
  }
}
