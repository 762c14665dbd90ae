// runtime.md "Query State". Kept lean: no lock, no ffi, no validator; the status is read from /proc.
import { containerDir, loadRecord } from '../container/store';
import { containerStatus, ociState } from '../container/status';
import type { RuntimeContext } from './context';

/** The container's state (runtime.md "State"), with runc's extra fields. */
export function containerState(ctx: RuntimeContext, id: string): Record<string, unknown> {
  const record = loadRecord(ctx.root, id);
  return ociState(record, containerStatus(record, containerDir(ctx.root, id)));
}
