// Writes to a container process's /proc files from outside (id maps, oom_score_adj): create's and exec's. A
// failure names the config field the value came from.
import { writeFileSync } from 'node:fs';
import { hostFailure } from '../errors';

export function writeProc(pid: number, file: string, content: string, field: string): void {
  try {
    writeFileSync(`/proc/${pid}/${file}`, content);
  } catch (e) {
    // the kernel refusing the value (EINVAL, EPERM) names the field; a bug stays one
    throw hostFailure(`${field}: writing /proc/${pid}/${file}`, e);
  }
}
