// Reading a bundle: config.json parsed, validated against the schema, and checked for what runt cannot do.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from '../sys/path';
import { OCI_VERSION } from '../container/store';
import { DEVICE_TYPE_BITS, S_IFMT } from '../plan/linux';
import { ConfigError } from '../plan/types';
import { checkConfig } from '../spec/validate';
import type { Spec } from '../spec/generated/types';
import { unlessAbsent } from './host';

export function readBundle(bundleFlag: string | undefined): { bundle: string; spec: Spec } {
  const bundle = resolve(bundleFlag ?? '.');
  let text: string;
  try {
    text = readFileSync(`${bundle}/config.json`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const found = unlessAbsent(`bundle ${bundle}`, () => statSync(bundle).isDirectory(), false);
      throw new ConfigError(found ? 'JSON specification file config.json not found' : `bundle ${bundle}: no such directory`);
    }
    throw new ConfigError(`${bundle}/config.json: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config.json: invalid JSON: ${(e as Error).message}`);
  }
  return { bundle, spec: checkSpec(doc) };
}

/**
 * podman --privileged writes linux.devices[].fileMode with the file type bits (e.g. 8612 = 0o20644 for a char
 * device), which the schema refuses and runc and crun accept: the bits of the device's own type are dropped.
 * Other type bits stay an error.
 */
function dropDeviceTypeBits(doc: unknown): void {
  const devices = (doc as { linux?: { devices?: unknown } } | null)?.linux?.devices;
  if (!Array.isArray(devices)) return;
  devices.forEach((device: unknown, i) => {
    const d = device as { type?: unknown; fileMode?: unknown } | null;
    if (typeof d?.fileMode !== 'number' || !Number.isInteger(d.fileMode) || d.fileMode < 0 || d.fileMode > 0o177777) return;
    const bits = d.fileMode & S_IFMT;
    if (!bits) return;
    if (bits !== (DEVICE_TYPE_BITS as Partial<Record<string, number>>)[String(d.type)]) {
      throw new ConfigError(
        `config.json: linux.devices[${i}].fileMode: the file type bits 0o${bits.toString(8)} are not those of a "${String(d.type)}" device`,
      );
    }
    d.fileMode -= bits;
  });
}

/** SemVer 2.0.0 (semver.org's grammar): MAJOR.MINOR.PATCH, an optional pre-release and build metadata. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(?:0|[1-9]\d*|\d*[A-Za-z-][\dA-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][\dA-Za-z-]*))*)?(?:\+[\dA-Za-z-]+(?:\.[\dA-Za-z-]+)*)?$/;

/**
 * config.md: ociVersion MUST be SemVer 2.0.0; the spec keeps compatibility within a major version, and runt
 * implements 1.x (a 1.x pre-release such as runc's "1.0.2-dev" included).
 */
function checkOciVersion(version: string): void {
  const m = SEMVER.exec(version);
  if (!m) throw new ConfigError(`config.json: ociVersion: ${JSON.stringify(version)} is not a SemVer 2.0.0 version`);
  if (m[1] !== '1')
    throw new ConfigError(`config.json: ociVersion: ${JSON.stringify(version)} is not a 1.x version of the runtime-spec (runt implements ${OCI_VERSION})`);
}

/** The schema, then what runt refuses by name rather than ignore. */
export function checkSpec(doc: unknown): Spec {
  dropDeviceTypeBits(doc);
  const checked = checkConfig(doc);
  if (!checked.ok) {
    const more = checked.errors.length > 1 ? ` (and ${checked.errors.length - 1} more: ${checked.errors.slice(1, 4).join('; ')})` : '';
    throw new ConfigError(`config.json: ${checked.errors[0]}${more}`);
  }
  const spec = checked.spec;
  checkOciVersion(spec.ociVersion);
  return spec;
}
