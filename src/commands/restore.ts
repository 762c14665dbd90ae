// `restore`: a container made anew from a checkpoint; its exit status is runt's (unless --detach).
import { restoreContainer } from '../lifecycle/restore';
import type { Handler } from './context';

export const restore: Handler<'restore'> = (opts, [id], ctx) => restoreContainer(ctx, id!, opts);
