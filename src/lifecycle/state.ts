// runtime.md "Query State". Kept lean: no lock, no ffi, no validator; the status is read from /proc.
import { writeSync } from 'node:fs';
import { containerDir, loadRecord } from '../container/store';
import { containerStatus, ociState } from '../container/status';
import type { Context } from '../commands/context';

export function state(ctx: Context): number {
  const id = ctx.args[0]!;
  const record = loadRecord(ctx.root, id);
  writeSync(1, `${JSON.stringify(ociState(record, containerStatus(record, containerDir(ctx.root, id))), null, 2)}\n`);
  return 0;
}
