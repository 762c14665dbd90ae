// `list`: the state of every container under the state directory.
import { readdirSync } from 'node:fs';
import { checkRoot, ContainerError, loadRecord } from '../container/store';
import { containerStatus, ociState } from '../container/status';
import { hostFailure } from '../errors';
import type { RuntimeContext } from './context';

/** The names of the directories under the state root (none when it does not exist yet), sorted. */
function dirNames(root: string): string[] {
  if (!checkRoot(root)) return [];
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (e) {
    throw hostFailure(`listing the state root ${root}`, e);
  }
}

/** The states of the containers, by id. */
export function listContainers(ctx: RuntimeContext): Record<string, unknown>[] {
  const states: Record<string, unknown>[] = [];
  for (const id of dirNames(ctx.root)) {
    try {
      const record = loadRecord(ctx.root, id);
      states.push(ociState(record, containerStatus(record, `${ctx.root}/${id}`)));
    } catch (e) {
      // a container deleted while listing, a create's temporary dir ('~' is not in an id), or not a container's
      // dir: none is a container to list. What the host refused (a HostError) or a bug is reported
      if (!(e instanceof ContainerError)) throw e;
    }
  }
  return states;
}
