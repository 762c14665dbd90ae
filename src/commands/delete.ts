// `delete [--force] ID`.
import { lstatSync } from 'node:fs';
import { checkRoot, ContainerError, containerDir, NOT_EXIST } from '../container/store';
import type { Handler } from './context';

export const del: Handler<'delete'> = async ({ force }, [id], ctx) => {
  try {
    // containerd's shim deletes every container twice, the second time with --force when it is gone: that one
    // is answered before the modules of a teardown load (they cost a call ~5 ms). The root is checked as
    // every call checks it (one not the caller's is refused); anything at the id's name takes the whole path
    const dir = containerDir(ctx.root, id!);
    if (!checkRoot(ctx.root) || !lstatSync(dir, { throwIfNoEntry: false })) throw new ContainerError(NOT_EXIST);
    await (await import('../lifecycle/delete')).deleteContainer(ctx, id!, force);
  } catch (e) {
    // as in runc, `delete --force` of a container that is gone succeeds: podman and containerd's shim clean up
    // after a failed create this way, and an error here becomes a second, misleading one in their output
    if (!(force && e instanceof ContainerError && e.message === NOT_EXIST)) throw e;
  }
  return 0;
};
