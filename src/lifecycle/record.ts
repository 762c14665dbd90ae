// What create and restore share when they make a container: its first record.
import { OCI_VERSION, type ContainerRecord } from '../container/store';
import { rootfsPath } from '../plan';
import type { Spec } from '../spec/generated/types';

/** The record of a container being made (no process yet): create's, and restore's. */
export function newRecord(id: string, bundle: string, spec: Spec): ContainerRecord {
  return {
    ociVersion: OCI_VERSION,
    id,
    createdDone: false,
    pid: 0,
    startTime: '',
    bundle,
    rootfs: rootfsPath(spec, bundle),
    created: new Date().toISOString(),
    owner: '',
    annotations: Object.fromEntries(Object.entries(spec.annotations ?? {}).filter((e): e is [string, string] => e[1] !== undefined)),
  };
}
