// config-linux.md "Network Devices": host interfaces moved into the container's network namespace at create,
// renamed where asked, with their permanent global addresses, set up. The shim's parent does it right after
// CLONE (see NETDEV in native-shim/README.md). Never moved back: the spec forbids it; when the namespace goes,
// the kernel returns a physical device to the host and destroys a virtual one.
import type { Linux } from '../spec/generated/types';
import type { NamespacePlan } from './namespaces';
import { ConfigError, step, type Step } from './types';

/** runc's check of an interface name, with the kernel's length limit (IFNAMSIZ - 1). */
function checkName(name: string, field: string): void {
  if (name.length === 0 || Buffer.byteLength(name) > 15) throw new ConfigError(`${field}: "${name}" is not 1 to 15 bytes long`);
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) throw new ConfigError(`${field}: "${name}" is not a valid network device name`);
}

export function netDeviceSteps(devices: Linux['netDevices'], ns: NamespacePlan, rootless: boolean): Step[] {
  const entries = Object.entries(devices ?? {});
  if (entries.length === 0) return [];
  if (!ns.has('network')) throw new ConfigError("linux.netDevices: moving network devices needs a network namespace of the container's own");
  if (rootless) throw new ConfigError('linux.netDevices: network devices cannot be moved by a rootless runtime');
  return entries.map(([host, dev]) => {
    const field = `linux.netDevices[${JSON.stringify(host)}]`;
    checkName(host, field);
    const name = dev?.name || host;
    checkName(name, `${field}.name`);
    return step('NETDEV', [host, name], field);
  });
}
