// A stand-in for systemd's manager on a D-Bus bus, for hosts without systemd: it owns org.freedesktop.systemd1
// and answers StartTransientUnit, StopUnit, SetUnitProperties and ResetFailedUnit as systemd does (a job path,
// then the JobRemoved signal), making and removing the scope's cgroup dirs in the real hierarchies, and it
// records every call it gets (one JSON line each) for the test to check.
// Usage: fake-systemd <bus address> <record file>. Prints "ready" once it owns the name.
// A unit whose name contains "fail-" has its start job end in "failed", as when systemd cannot make it.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { Bus, type DBusValue, type Message, MessageType, Variant } from '../../src/cgroups/dbus';
import { detectHost } from '../../src/cgroups/host';
import { expandSlice } from '../../src/cgroups/path';

const [address, recordFile] = process.argv.slice(2) as [string, string];
const MANAGER = 'org.freedesktop.systemd1.Manager';
const MANAGER_PATH = '/org/freedesktop/systemd1';

/** Values as JSON can hold them: bigint → string, variant → {signature, value}, bytes → number[]. */
function plain(v: DBusValue): unknown {
  if (typeof v === 'bigint') return String(v);
  if (v instanceof Variant) return { signature: v.signature, value: plain(v.value) };
  if (v instanceof Uint8Array) return [...v];
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** systemd on v1 and hybrid hosts: the named systemd hierarchy, cgroup2, and the controllers accounting asks for. */
const MANAGED_V1 = ['name=systemd', 'memory', 'cpu', 'cpuacct', 'blkio', 'pids', 'devices'];
const host = detectHost();
const hierarchies = host.hierarchies.filter((h) => h.version === 2 || MANAGED_V1.some((c) => h.controllers.includes(c)));

interface Unit {
  dirs: string[];
  made: string[];
}
const units = new Map<string, Unit>();
let jobs = 0;

/** How systemd writes a property into a v1 controller's files (what this fake applies of them). */
const V1_FILES: Record<string, [string, string, (v: bigint) => string]> = {
  MemoryLimit: ['memory', 'memory.limit_in_bytes', (v) => (v === 2n ** 64n - 1n ? '-1' : String(v))],
  CPUShares: ['cpu', 'cpu.shares', String],
  TasksMax: ['pids', 'pids.max', (v) => (v === 2n ** 64n - 1n ? 'max' : String(v))],
};

function applyProperties(unit: Unit, props: [string, Variant][]): void {
  for (const [name, v] of props) {
    const file = V1_FILES[name];
    if (!file || host.mode === 'v2') continue;
    const dir = unit.dirs.find((d) => hierarchies.some((h) => d.startsWith(`${h.mountPoint}/`) && h.controllers.includes(file[0])));
    if (dir) writeFileSync(`${dir}/${file[1]}`, file[2](v.value as bigint));
  }
}

function startScope(name: string, props: [string, Variant][]): void {
  const get = (p: string): DBusValue | undefined => props.find(([n]) => n === p)?.[1].value;
  const slice = (get('Slice') as string | undefined) ?? 'system.slice';
  const pids = (get('PIDs') as number[] | undefined) ?? [];
  if (pids.length === 0) throw Object.assign(new Error('No PIDs to add to the scope'), { dbus: 'org.freedesktop.DBus.Error.InvalidArgs' });
  const unit: Unit = { dirs: [], made: [] };
  const slicePath = expandSlice(slice);
  for (const h of hierarchies) {
    let dir = h.mountPoint;
    for (const part of [...slicePath.split('/').filter(Boolean), name]) {
      dir = `${dir}/${part}`;
      if (!existsSync(dir)) {
        mkdirSync(dir);
        unit.made.push(dir);
      }
    }
    unit.dirs.push(dir);
    for (const pid of pids) writeFileSync(`${dir}/cgroup.procs`, String(pid));
  }
  units.set(name, unit);
  applyProperties(unit, props);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Kills what is left in the scope (as KillMode=control-group does) and removes the dirs made for it. */
async function stopScope(unit: Unit): Promise<string> {
  for (const dir of unit.dirs) {
    for (const pid of readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  for (const dir of [...unit.made].reverse()) {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // a slice with other units in it stays
        if (!unit.dirs.includes(dir) && (code === 'EBUSY' || code === 'ENOTEMPTY')) break;
        // as systemd, the job ends when the cgroup is empty: a killed process whose parent has not reaped it yet
        // still holds it (this host's PID 1 reaps slowly)
        if (attempt > 1500) return 'timeout';
        await sleep(20);
      }
    }
  }
  return 'done';
}

function newJob(bus: Bus, m: Message, unit: string, result: () => Promise<string>): void {
  const id = ++jobs;
  const path = `${MANAGER_PATH}/job/${id}`;
  bus.reply(m, 'o', [path]);
  void result().then((r) => bus.emit(MANAGER_PATH, MANAGER, 'JobRemoved', 'uoss', [id, path, unit, r]));
}

async function main(): Promise<void> {
  const bus = await Bus.connect(address);
  const [owner] = await bus.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'RequestName', 'su', ['org.freedesktop.systemd1', 4]);
  if (owner !== 1) throw new Error(`cannot own org.freedesktop.systemd1 (RequestName said ${String(owner)})`);
  bus.on((m) => {
    if (m.type !== MessageType.MethodCall) return;
    appendFileSync(recordFile, JSON.stringify({ interface: m.interface, member: m.member, signature: m.signature, body: m.body.map(plain) }) + '\n');
    if (m.interface !== MANAGER || m.path !== MANAGER_PATH) {
      bus.replyError(m, 'org.freedesktop.DBus.Error.UnknownObject', `Unknown object or interface ${m.path} ${m.interface}`);
      return;
    }
    try {
      switch (m.member) {
        case 'StartTransientUnit': {
          const [name, , props] = m.body as [string, string, [string, Variant][]];
          if (units.has(name)) return bus.replyError(m, 'org.freedesktop.systemd1.UnitExists', `Unit ${name} was already loaded or has a fragment file.`);
          if (name.includes('fail-')) return newJob(bus, m, name, async () => 'failed');
          startScope(name, props);
          return newJob(bus, m, name, async () => 'done');
        }
        case 'StopUnit': {
          const [name] = m.body as [string];
          const unit = units.get(name);
          if (!unit) return bus.replyError(m, 'org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
          units.delete(name);
          return newJob(bus, m, name, () => stopScope(unit));
        }
        case 'SetUnitProperties': {
          const [name, , props] = m.body as [string, boolean, [string, Variant][]];
          const unit = units.get(name);
          if (!unit) return bus.replyError(m, 'org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
          applyProperties(unit, props);
          return bus.reply(m, '', []);
        }
        case 'ResetFailedUnit':
          return bus.reply(m, '', []);
        default:
          return bus.replyError(m, 'org.freedesktop.DBus.Error.UnknownMethod', `Unknown method ${m.member}`);
      }
    } catch (e) {
      bus.replyError(m, (e as { dbus?: string }).dbus ?? 'org.freedesktop.DBus.Error.Failed', (e as Error).message);
    }
  });
  // on SIGTERM: what is still running goes, as at a shutdown
  process.on('SIGTERM', () => {
    void Promise.all([...units.values()].map(stopScope)).then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

main().catch((e: Error) => {
  process.stderr.write(`fake-systemd: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
