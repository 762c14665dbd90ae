// Lazy migration (--lazy-pages), as runc drives it: `checkpoint --lazy-pages --page-server ADDRESS:PORT` dumps
// everything but the memory pages, then CRIU serves those from the frozen tasks on that address until a
// `criu lazy-pages` daemon on the destination has fetched them all; runt writes \0 to --status-fd once CRIU
// says it serves (its NOTIFY "status-ready", CRIU 3.15+), so a client knows when to start the restore.
// `restore --lazy-pages` has CRIU take the pages from that daemon (its socket in the work dir) through
// userfaultfd, as the restored tasks touch them.
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { log } from '../cli/log';
import { UserError } from '../errors';
import type { Message } from './proto';

/** The NOTIFY that says CRIU's page server is up. */
export const STATUS_READY = 'status-ready';

/** --page-server ADDRESS:PORT (host and port both needed, IPv6 in brackets) as criu_page_server_info. */
export function pageServerInfo(value: string): Message {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(value) ?? /^([^:[\]]*):([^:]*)$/.exec(value);
  if (!m || !m[1] || !m[2]) throw new UserError('--page-server: use --page-server ADDRESS:PORT to specify the page server');
  if (!/^\d+$/.test(m[2]) || Number(m[2]) > 65535) throw new UserError(`--page-server: invalid port number "${m[2]}"`);
  return { address: m[1], port: Number(m[2]) };
}

/**
 * The pipe CRIU's lazy page server reads pages through: it asks F_SETPIPE_SZ for 819 pages (its PIPE_MAX_SIZE),
 * which the kernel rounds up to 4 MiB, and does not check the answer, so where that is refused the transfer
 * fails only once the destination asks for the first page ("page-pipe: splice: Bad file descriptor"), after
 * the client was told the pages are served. Without CAP_SYS_RESOURCE the kernel refuses pipes larger than
 * fs.pipe-max-size (1 MiB by default).
 */
const LAZY_PIPE_BYTES = 4 * 1024 * 1024;
const CAP_SYS_RESOURCE = 24n;

/** A lazy dump that CRIU would fail halfway: a clear error before it starts (runt's own capabilities are CRIU's). */
export function requireLazyPipeSize(
  procStatus = readFileSync('/proc/self/status', 'utf8'),
  pipeMaxSize = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8')),
): void {
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(procStatus)?.[1];
  if (eff !== undefined && (BigInt(`0x${eff}`) >> CAP_SYS_RESOURCE) & 1n) return;
  if (pipeMaxSize >= LAZY_PIPE_BYTES) return;
  throw new UserError(
    `--lazy-pages: CRIU's page server needs pipes of ${LAZY_PIPE_BYTES} bytes: without CAP_SYS_RESOURCE, fs.pipe-max-size (${pipeMaxSize}) must be raised to that`,
  );
}

const O_ACCMODE = 3;
const O_RDONLY = 0;

/**
 * --status-fd, for a lazy dump only (runc ignores it otherwise): an open fd of runt's that can be written, or
 * a clear error before CRIU starts. Returns what to do on status-ready: \0 to the fd, which is then closed
 * (its reader sees the end too), once. A reader gone is no reason to stop serving the pages: a warning, as
 * with runc.
 */
export async function statusReadySignal(fd: number | undefined, lazyPages: boolean): Promise<(() => void) | undefined> {
  if (fd === undefined || !lazyPages) return undefined;
  const { fdStatusFlags, SysError } = await import('../sys/native');
  let mode: number;
  try {
    mode = fdStatusFlags(fd) & O_ACCMODE;
  } catch (e) {
    if (e instanceof SysError) throw new UserError(`invalid --status-fd argument ${fd}: ${e.message}`);
    throw e;
  }
  if (mode === O_RDONLY) throw new UserError(`invalid --status-fd argument ${fd}: not writable`);
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    try {
      writeSync(fd, Buffer.from([0]));
    } catch (e) {
      log.warn(`cannot write \\0 to --status-fd ${fd}: ${(e as Error).message}`);
    } finally {
      closeSync(fd);
    }
  };
}
