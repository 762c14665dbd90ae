// What checkpoint and restore both ask of the host: CRIU's version, the joined namespaces CRIU treats as
// external, the directories CRIU is handed by fd.
import { mkdirSync, openSync, statSync, constants } from 'node:fs';
import type { Spec } from '../spec/generated/types';
import { ReqType } from './messages';
import type { Message } from './proto';
import { criuSwrk, criuVersion, CriuError } from './swrk';

/** The oldest CRIU runt drives: external pid namespaces and the cgroup v2 freezer need 3.15. */
const CRIU_MIN = 31500;

export async function requireCriu(criu: string): Promise<void> {
  const version = await criuVersion(criu);
  if (version < CRIU_MIN) throw new CriuError(`CRIU version ${version} must be ${CRIU_MIN} or higher`);
}

/** CRIU's names of the namespaces it can take from outside, and the key both sides of a dump use. */
export const EXTERNAL_NS: Partial<Record<string, { criu: string; key: string }>> = {
  network: { criu: 'net', key: 'extRootNetNS' },
  pid: { criu: 'pid', key: 'extRootPidNS' },
};

/** Dump: the container's joined network and pid namespaces are external ("net[INODE]:extRootNetNS"). */
export function namespaceExternals(spec: Spec): string[] {
  const out: string[] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    const ext = EXTERNAL_NS[ns.type];
    if (ext && ns.path) out.push(`${ext.criu}[${statSync(ns.path).ino}]:${ext.key}`);
  }
  return out;
}

/** Opens dir (made if missing, 0700: images hold the container's memory) for CRIU to find by fd. */
export function openDir(path: string): number {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  return openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
}

/** runc's feature check before a pre-dump (memory tracking) or a lazy-pages dump: a clear error up front. */
export async function requireFeatures(criu: string, wanted: { memTrack?: boolean; lazyPages?: boolean }): Promise<void> {
  const asked = Object.fromEntries(Object.entries(wanted).filter(([, on]) => on));
  if (!Object.keys(asked).length) return;
  const resp = await criuSwrk({ type: ReqType.FEATURE_CHECK, features: asked }, { criu, stdio: 'ignore' });
  const have = (resp.features ?? {}) as Message;
  const missing = Object.keys(asked)
    .filter((f) => have[f] !== true)
    .map((f) => (f === 'memTrack' ? 'MemTrack' : 'LazyPages'));
  if (missing.length) throw new CriuError(`criu is missing features: [${missing.join(' ')}]`);
}
