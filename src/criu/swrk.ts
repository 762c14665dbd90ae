// Driving CRIU as runc does: `criu swrk 3` as a child of runt with one end of a SOCK_SEQPACKET socketpair on
// its fd 3; one criu_req goes over it, and criu_resp messages come back, NOTIFY ones (CRIU's "action scripts")
// answered each before CRIU goes on. CRIU opens the fds named in the request (images_dir_fd, work_dir_fd)
// through /proc/<runt's pid>/fd, so they stay runt's own.
import { spawn, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, readFileSync, writeSync } from 'node:fs';
import { UserError } from '../errors';
import { criuReq, criuResp, ReqType } from './messages';
import { decode, encode, type Message } from './proto';

export class CriuError extends UserError {}

export interface SwrkOptions {
  /** The criu binary (runt's global --criu; default: criu from PATH). */
  criu: string;
  /** 'inherit': CRIU (and a process it restores) gets runt's stdio; 'ignore': /dev/null. */
  stdio: 'inherit' | 'ignore';
  /** More fds for CRIU, from its fd 4 on (inherit_fd entries name them by that number). */
  extraFds?: number[];
  /** Called with CRIU's pid before the request is sent (restore: put CRIU in the container's cgroup). */
  onStarted?: (criuPid: number) => void;
  /**
   * A NOTIFY message: `script` is the action's name (post-dump, setup-namespaces, post-restore, status-ready,
   * orphan-pts-master...), `fds` what came with it (orphan-pts-master: the restored terminal's master), closed
   * once the callback returns.
   */
  onNotify?: (script: string, pid: number, fds: number[]) => void | Promise<void>;
  /** Where CRIU writes its log (the image or work dir and the log file's name), quoted on a failure. */
  log?: { dir: string; file: string };
}

const RESPONSE_MAX = 10 * 4096;

/** Sends `req` to a new `criu swrk` and returns CRIU's final response (not a NOTIFY one). */
export async function criuSwrk(req: Message, opts: SwrkOptions): Promise<Message> {
  const { recvWithFds, seqpacketPair } = await import('../sys/native');
  const [client, server] = seqpacketPair();
  const stdio: StdioOptions = [opts.stdio, opts.stdio, opts.stdio, server, ...(opts.extraFds ?? [])];
  const child = spawn(opts.criu, ['swrk', '3'], { stdio });
  closeSync(server); // CRIU holds the other end: when it dies, a read here sees EOF instead of hanging
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(signal ?? code ?? 0));
    child.on('error', (e) => resolve(e.message));
  });
  let clientOpen = true;
  try {
    if (child.pid === undefined) throw new CriuError(`criu: cannot run ${opts.criu}: ${String(await exited)}`);
    opts.onStarted?.(child.pid);
    send(client, req);
    const type = req.type as number;
    const buf = Buffer.alloc(RESPONSE_MAX);
    for (;;) {
      const { length, fds } = recvWithFds(client, buf);
      const resp = length === 0 ? undefined : decodeResponse(buf, length);
      if (!(resp?.type === ReqType.NOTIFY && resp.success)) for (const fd of fds) closeSync(fd); // only a NOTIFY hands an fd on
      if (resp === undefined) {
        throw failure(opts, `criu exited without an answer (${describeExit(await exited)})`);
      }
      if (!resp.success) {
        // cr_errmsg is CRIU's first logged error, often a harmless one: the log's last errors say more
        const errmsg = (resp.crErrmsg as string | undefined)?.trim();
        throw failure(opts, `criu failed: type ${reqName(resp.type as number)}`, errmsg);
      }
      if (resp.type !== ReqType.NOTIFY) {
        closeSync(client);
        clientOpen = false;
        // a PRE_DUMP's CRIU waits for a further request; closing the socket ends it (as runc does)
        const status = await exited;
        if (status !== 0 && type !== ReqType.PRE_DUMP) throw failure(opts, `criu failed: ${describeExit(status)}`);
        return resp;
      }
      const notify = (resp.notify ?? {}) as Message;
      try {
        await opts.onNotify?.((notify.script as string | undefined) ?? '', (notify.pid as number | undefined) ?? 0, fds);
      } finally {
        for (const fd of fds) closeSync(fd);
      }
      send(client, { type: ReqType.NOTIFY, notifySuccess: true });
    }
  } finally {
    if (clientOpen) {
      closeSync(client);
      await exited;
    }
  }
}

function send(fd: number, msg: Message): void {
  writeSync(fd, encode(criuReq, msg));
}

/** One message (SOCK_SEQPACKET keeps message bounds; recvmsg keeps the fds that came with it). */
function decodeResponse(buf: Buffer, length: number): Message {
  if (length === buf.length) throw new CriuError('criu: response too large');
  return decode(criuResp, buf.subarray(0, length));
}

function reqName(type: number): string {
  return Object.entries(ReqType).find(([, v]) => v === type)?.[0] ?? String(type);
}

function describeExit(status: number | string): string {
  return typeof status === 'number' ? `exit status ${status}` : status;
}

/** The error, with the log's last error lines (CRIU's log says why; its RPC answer rarely does). */
function failure(opts: SwrkOptions, message: string, errmsg?: string): CriuError {
  const path = opts.log && `${opts.log.dir}/${opts.log.file}`;
  const errors =
    path && existsSync(path)
      ? readFileSync(path, 'utf8')
          .split('\n')
          .filter((l) => l.includes('Error'))
          .slice(-3)
          .map((l) => l.trim())
      : [];
  if (errors.length) return new CriuError(`${message}: ${errors.join(' | ')} (log: ${path})`);
  return new CriuError(errmsg ? `${message}: ${errmsg}` : message);
}

/** CRIU's version as major*10000 + minor*100 + sublevel (3.17.1 → 31701), asked over the RPC. */
export async function criuVersion(criu: string): Promise<number> {
  const resp = await criuSwrk({ type: ReqType.VERSION }, { criu, stdio: 'ignore' });
  const v = (resp.version ?? {}) as Message;
  return ((v.major as number) ?? 0) * 10000 + ((v.minor as number) ?? 0) * 100 + ((v.sublevel as number | undefined) ?? 0);
}
