// The systemd cgroup driver without a bus: the D-Bus wire format (bytes checked by hand against the
// specification, round trips of the signatures StartTransientUnit uses), cgroupsPath → unit and slice, and
// OCI resources → unit properties as runc converts them.
import t from 'tap';
import { Variant, decodeMessage, encodeMessage, marshal, MessageType, socketPath, splitSignature, unmarshal, type DBusValue } from '../../src/cgroups/dbus';
import { expandSlice, resolveCgroupsPath, systemdUnit } from '../../src/cgroups/path';
import { type Property, rangeToBits, resourceProperties, scopeProperties } from '../../src/cgroups/systemd';
import type { CgroupHost } from '../../src/cgroups/host';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const props = (list: Property[]): Record<string, DBusValue> => Object.fromEntries(list.map(([n, v]) => [n, v.value]));

t.test('marshalling: bytes as the D-Bus specification lays them out', async (t) => {
  // a(sv) with one ("a", <true>): length 16, padding to the struct's 8, "a\0", the signature "b", 3 bytes to align the boolean, 1
  t.equal(hex(marshal('a(sv)', [[['a', new Variant('b', true)]]])), '10000000' + '00000000' + '01000000' + '6100' + '016200' + '000000' + '01000000');
  // an empty array of structs still pads to the element alignment, and its length is 0
  t.equal(hex(marshal('ya(sv)', [7, []])), '07000000' + '00000000');
  t.equal(hex(marshal('t', [2n ** 64n - 1n])), 'ffffffffffffffff');
  t.equal(hex(marshal('ay', [Uint8Array.from([1, 2])])), '02000000' + '0102');
  t.equal(hex(marshal('sg', ['ab', 'u'])), '02000000' + '616200' + '017500');
  t.throws(() => marshal('u', ['x']), /cannot marshal "x" as "u"/);
  t.throws(() => marshal('ss', ['only one']), /wants 2 values, got 1/);
});

t.test('signatures', async (t) => {
  t.same(splitSignature('ssa(sv)a(sa(sv))'), ['s', 's', 'a(sv)', 'a(sa(sv))']);
  t.same(splitSignature('a{sv}uoss'), ['a{sv}', 'u', 'o', 's', 's']);
  t.throws(() => splitSignature('a(sv'), /unterminated/);
  t.throws(() => splitSignature('z'), /bad signature/);
});

t.test("round trips: StartTransientUnit's arguments, and a whole message", async (t) => {
  const args: DBusValue[] = [
    'runt-x.scope',
    'replace',
    [
      ['Description', new Variant('s', 'runt container x')],
      ['Delegate', new Variant('b', true)],
      ['PIDs', new Variant('au', [1234])],
      ['MemoryLimit', new Variant('t', 67108864n)],
      ['AllowedCPUs', new Variant('ay', Uint8Array.from([5]))],
    ],
    [['aux.service', [['Nice', new Variant('i', -5)]]]],
  ];
  t.same(unmarshal('ssa(sv)a(sa(sv))', marshal('ssa(sv)a(sa(sv))', args)), args);

  const msg = encodeMessage({
    type: MessageType.MethodCall,
    flags: 0,
    serial: 7,
    path: '/org/freedesktop/systemd1',
    interface: 'org.freedesktop.systemd1.Manager',
    member: 'StartTransientUnit',
    destination: 'org.freedesktop.systemd1',
    signature: 'ssa(sv)a(sa(sv))',
    body: args,
  });
  t.equal(msg.subarray(0, 4).toString('latin1'), 'l\x01\x00\x01', 'little-endian method call, protocol 1');
  const back = decodeMessage(msg);
  t.match(back, {
    type: MessageType.MethodCall,
    serial: 7,
    member: 'StartTransientUnit',
    destination: 'org.freedesktop.systemd1',
    signature: 'ssa(sv)a(sa(sv))',
  });
  t.same(back.body, args);
  // a big-endian sender (allowed by the protocol) is read too
  const be = Buffer.from('42020001' + '00000004' + '00000003' + '0000000f' + '05017500' + '00000002' + '080167' + '00' + '01750000' + '0000002a', 'hex');
  const m = decodeMessage(be);
  t.match(m, { type: MessageType.MethodReturn, replySerial: 2, signature: 'u', body: [42] });
});

t.test('bus addresses', async (t) => {
  t.equal(socketPath('unix:path=/run/dbus/system_bus_socket'), '/run/dbus/system_bus_socket');
  t.equal(socketPath('tcp:host=x,port=1;unix:path=/tmp/a%20b,guid=00'), '/tmp/a b');
  t.equal(socketPath('unix:abstract=/tmp/dbus-x'), '\0/tmp/dbus-x');
  t.throws(() => socketPath('tcp:host=localhost,port=1'), /no unix:path= or unix:abstract= address/);
});

t.test('cgroupsPath → unit and slice', async (t) => {
  t.equal(expandSlice('system.slice'), '/system.slice');
  t.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
  t.equal(expandSlice('-.slice'), '/');
  for (const bad of ['system', '.slice', 'a--b.slice', '-a.slice', 'a/b.slice']) t.throws(() => expandSlice(bad), /invalid slice name/, bad);
  t.same(systemdUnit('machine.slice:libpod:abc', 'x'), { slice: 'machine.slice', slicePath: '/machine.slice', unit: 'libpod-abc.scope', name: 'abc' });
  t.match(systemdUnit(':docker:abc', 'x'), { slice: 'system.slice', unit: 'docker-abc.scope' }, 'an empty slice is system.slice');
  t.match(systemdUnit(undefined, 'c1'), { slice: 'system.slice', unit: 'runt-c1.scope' }, 'no cgroupsPath: system.slice:runt:<id>');
  t.throws(() => systemdUnit('a:b', 'x'), /expected "slice:prefix:name"/);
  t.throws(() => systemdUnit('system.slice:p:a/b', 'x'), /not a valid systemd unit name/);
  t.throws(() => systemdUnit('system.slice:p:', 'x'), /not a valid systemd unit name/);
  t.throws(() => systemdUnit('system.slice:p:x.slice', 'x'), /slice as the container's unit/);
  const probe = '/'; // exists: stands for /run/systemd/system
  t.equal(resolveCgroupsPath('-.slice:p:n', 'x', true, '/run/runt', probe), '/p-n.scope', 'under the root slice');
  t.equal(resolveCgroupsPath('a-b.slice:p:n', 'x', true, '/run/runt', probe), '/a.slice/a-b.slice/p-n.scope');
});

t.test('resources → unit properties, as runc converts them', async (t) => {
  const r = {
    memory: { limit: 1000, reservation: 500, swap: 3000 },
    cpu: { shares: 1024, quota: 12345, period: 100000, cpus: '0-2,9', mems: '0' },
    pids: { limit: -1 },
    blockIO: { weight: 300 },
  };
  t.same(
    props(resourceProperties(r, 1)),
    {
      MemoryLimit: 1000n,
      CPUShares: 1024n,
      CPUQuotaPeriodUSec: 100000n,
      CPUQuotaPerSecUSec: 130000n,
      BlockIOWeight: 300n,
      TasksMax: 2n ** 64n - 1n,
      AllowedCPUs: Uint8Array.from([7, 2]),
      AllowedMemoryNodes: Uint8Array.from([1]),
    },
    'v1: quota rounded up to whole percent, -1 → infinity',
  );
  t.same(
    props(resourceProperties(r, 2)),
    {
      MemoryMax: 1000n,
      MemoryLow: 500n,
      MemorySwapMax: 2000n,
      CPUWeight: 39n,
      CPUQuotaPeriodUSec: 100000n,
      CPUQuotaPerSecUSec: 130000n,
      TasksMax: 2n ** 64n - 1n,
      AllowedCPUs: Uint8Array.from([7, 2]),
      AllowedMemoryNodes: Uint8Array.from([1]),
    },
    'v2: MemoryMax, swap beyond memory, shares → weight',
  );
  t.same(props(resourceProperties({ cpu: { quota: 50000 } }, 1)), { CPUQuotaPerSecUSec: 500000n }, 'the default period');
  t.same(
    props(resourceProperties({ cpu: { quota: -1, period: 50000 } }, 2)),
    { CPUQuotaPeriodUSec: 50000n, CPUQuotaPerSecUSec: 2n ** 64n - 1n },
    'no quota: infinity',
  );
  t.same(resourceProperties({ memory: { limit: 0 }, pids: { limit: 0 } }, 1), [], 'zeros are unset, as in runc');
  t.same(props(resourceProperties({ memory: { limit: -1 } }, 2)), { MemoryMax: 2n ** 64n - 1n, MemorySwapMax: 2n ** 64n - 1n });
  t.same(rangeToBits('f', '8'), Uint8Array.from([0, 1]));
  t.throws(() => rangeToBits('linux.resources.cpu.cpus', '3-1'), /linux\.resources\.cpu\.cpus: invalid list "3-1"/);

  const host = (mode: CgroupHost['mode']): CgroupHost => ({ mode, hierarchies: [] });
  const unit = systemdUnit('system.slice:runt:c1', 'c1');
  const hybrid = scopeProperties(host('hybrid'), unit, 42, undefined);
  t.same(
    hybrid.map(([n]) => n),
    ['Description', 'Slice', 'Delegate', 'PIDs', 'MemoryAccounting', 'CPUAccounting', 'BlockIOAccounting', 'TasksAccounting', 'DefaultDependencies'],
  );
  t.same(props(hybrid), {
    Description: 'runt container c1',
    Slice: 'system.slice',
    Delegate: true,
    PIDs: [42],
    MemoryAccounting: true,
    CPUAccounting: true,
    BlockIOAccounting: true,
    TasksAccounting: true,
    DefaultDependencies: false,
  });
  t.ok(props(scopeProperties(host('v2'), unit, 42, undefined)).IOAccounting, 'v2: IOAccounting');
});
