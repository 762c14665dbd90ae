// `exec ID [COMMAND...]`: a process in the container; the process's exit status is runt's (unless --detach).
import { execInContainer } from '../lifecycle/exec';
import type { Handler } from './context';

export const exec: Handler<'exec'> = (opts, [id, ...command], ctx) => execInContainer(ctx, id!, command, opts);
