// `delete [--force] ID`.
import { ContainerError, NOT_EXIST } from '../container/store';
import { deleteContainer } from '../lifecycle/delete';
import type { Handler } from './context';

export const del: Handler<'delete'> = async ({ force }, [id], ctx) => {
  try {
    await deleteContainer(ctx, id!, force);
  } catch (e) {
    // as in runc, `delete --force` of a container that is gone succeeds: podman and containerd's shim clean up
    // after a failed create this way, and an error here becomes a second, misleading one in their output
    if (!(force && e instanceof ContainerError && e.message === NOT_EXIST)) throw e;
  }
  return 0;
};
