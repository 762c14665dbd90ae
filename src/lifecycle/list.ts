// `list`: the state of every container under the state directory.
import { readdirSync } from 'node:fs';
import { checkRoot, loadRecord } from '../container/store';
import { containerStatus, ociState } from '../container/status';
import type { RuntimeContext } from './context';

/** The states of the containers, by id. */
export function listContainers(ctx: RuntimeContext): Record<string, unknown>[] {
  const ids = checkRoot(ctx.root)
    ? readdirSync(ctx.root, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort()
    : [];
  const states: Record<string, unknown>[] = [];
  for (const id of ids) {
    try {
      const record = loadRecord(ctx.root, id);
      states.push(ociState(record, containerStatus(record, `${ctx.root}/${id}`)));
    } catch {
      // a create under way, or not a container dir
    }
  }
  return states;
}
