// The systemd cgroup driver without a bus: the D-Bus wire format (bytes checked by hand against the
// specification, round trips of the signatures StartTransientUnit uses), cgroupsPath → unit and slice, and
// OCI resources → unit properties as runc converts them.
import t from 'tap';
import { Variant, decodeMessage, encodeMessage, marshal, MessageType, socketPath, splitSignature, unmarshal, type DBusValue } from '../../src/cgroups/dbus';
import { expandSlice, resolveCgroupsPath, scopePath, systemdUnit } from '../../src/cgroups/path';
import { parseVariantText } from '../../src/cgroups/dbus-text';
import {
  annotationProperties,
  type Property,
  rangeToBits,
  requireUserManager,
  resourceProperties,
  scopeProperties,
  userBusAddress,
} from '../../src/cgroups/systemd';
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

t.test("the user manager (rootless): its bus, user.slice by default, scopes below the manager's own cgroup", async (t) => {
  const none = () => false;
  t.equal(
    userBusAddress({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x/bus', XDG_RUNTIME_DIR: '/run/user/1000' }, () => true),
    'unix:path=/x/bus',
  );
  t.equal(
    userBusAddress({ XDG_RUNTIME_DIR: '/run/user/1000' }, (p) => p === '/run/user/1000/bus'),
    'unix:path=/run/user/1000/bus',
  );
  t.throws(() => userBusAddress({ XDG_RUNTIME_DIR: '/run/user/1000' }, none), /cannot find the systemd user manager's bus/);
  t.throws(() => userBusAddress({}, none), /neither DBUS_SESSION_BUS_ADDRESS nor \$XDG_RUNTIME_DIR\/bus/);
  const unit = systemdUnit(undefined, 'c1', 'user.slice');
  t.match(unit, { slice: 'user.slice', unit: 'runt-c1.scope' }, "runc's rootless default slice");
  const manager = '/user.slice/user-1000.slice/user@1000.service';
  t.equal(scopePath(unit, manager), `${manager}/user.slice/runt-c1.scope`);
  t.equal(scopePath(systemdUnit('-.slice:p:n', 'x'), manager), `${manager}/p-n.scope`, "the manager's root slice");
  t.equal(scopePath(systemdUnit('a-b.slice:p:n', 'x')), '/a.slice/a-b.slice/p-n.scope', 'the system manager: from the root');
  t.throws(() => requireUserManager({ mode: 'hybrid' } as CgroupHost), /needs cgroup v2 alone; this host is hybrid/);
  t.throws(() => requireUserManager({ mode: 'v1' } as CgroupHost), /this host is cgroup v1/);
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

/** A parsed value as signature and value, bigints as strings, bytes as arrays. */
function typed(text: string): [string, unknown] {
  const v = parseVariantText(text);
  const plain = (x: DBusValue): unknown =>
    typeof x === 'bigint'
      ? String(x)
      : x instanceof Variant
        ? [x.signature, plain(x.value)]
        : x instanceof Uint8Array
          ? [...x]
          : Array.isArray(x)
            ? x.map(plain)
            : x;
  return [v.signature, plain(v.value)];
}

t.test('values written as text (GVariant text format, as godbus reads them): types given or inferred', async (t) => {
  t.same(typed('42'), ['i', 42], 'an integer alone is an int32');
  t.same(typed('-7'), ['i', -7]);
  t.same(typed('2.5'), ['d', 2.5]);
  t.same(typed('1e3'), ['d', 1000]);
  t.same(typed('uint64 30'), ['t', '30']);
  t.same(typed('@t 18446744073709551615'), ['t', '18446744073709551615']);
  t.same(typed('byte 0x1f'), ['y', 31], 'hexadecimal');
  t.same(typed('uint32 010'), ['u', 8], 'a leading 0 is octal, as in Go');
  t.same(typed('int16 -32768'), ['n', -32768]);
  t.same(typed('double 3'), ['d', 3]);
  t.same(typed('true'), ['b', true]);
  t.same(typed('"a \\"quoted\\" \\u00e9\\n"'), ['s', 'a "quoted" é\n']);
  t.same(typed("'single'"), ['s', 'single']);
  t.same(typed('objectpath "/org/x"'), ['o', '/org/x']);
  t.same(typed('["a", "b"]'), ['as', ['a', 'b']]);
  t.same(typed('[1, 2.5]'), ['ad', [1, 2.5]], 'an array takes the type all its elements can have');
  t.same(typed('@au []'), ['au', []]);
  t.same(typed('[uint64 1, 2]'), ['at', ['1', '2']]);
  t.same(typed('{"k": 1, "l": 2}'), [
    'a{si}',
    [
      ['k', 1],
      ['l', 2],
    ],
  ]);
  t.same(typed('<"x">'), ['v', ['s', 'x']]);
  t.same(typed('b"ab\\x01"'), ['ay', [0x61, 0x62, 1, 0]], 'a byte string ends in NUL');
  for (const [bad, why] of [
    ['', /unexpected end/],
    ['[]', /cannot infer the type of \[\]/],
    ['byte 256', /256 is out of range for type "y"/],
    ['uint32 -1', /cannot read -1 as type "u"/],
    ['int32 "x"', /cannot read x as type "i"/],
    ['[1, "a"]', /"?a"? does not fit the array/],
    ['"open', /unterminated string/],
    ['12abc', /bad number syntax/],
    ['uint65 1', /unrecognized type "uint65"/],
    ['1 2', /more text after the value/],
    ['@z 1', /bad signature/],
  ] as const) {
    t.throws(() => parseVariantText(bad), { message: why }, JSON.stringify(bad));
  }
});

t.test('org.systemd.property.* annotations: extra properties of the scope, as runc takes them', async (t) => {
  const list = annotationProperties({
    'org.systemd.property.CollectMode': '"inactive-or-failed"',
    'org.systemd.property.TimeoutStopSec': '30',
    'org.systemd.property.RuntimeMaxSec': 'double 1.5',
    'org.systemd.property.CPUQuotaPeriodSec': 'uint64 2',
    'org.systemd.property.TasksMax': 'uint64 10',
    'org.example.other': 'ignored',
  });
  t.same(
    list.map(([n, v]) => [n, v.signature, typeof v.value === 'bigint' ? String(v.value) : v.value]),
    [
      ['CollectMode', 's', 'inactive-or-failed'],
      ['TimeoutStopUSec', 't', '30000000'],
      ['RuntimeMaxUSec', 't', '1500000'],
      ['CPUQuotaPeriodUSec', 't', '2000000'],
      ['TasksMax', 't', '10'],
    ],
    'a ...Sec name after a lower-case letter takes seconds and goes as ...USec in microseconds',
  );
  t.same(annotationProperties({ 'org.systemd.property.USec': 'uint64 5' })[0]![0], 'USec', 'no lower-case letter before Sec: as written');
  t.throws(
    () => annotationProperties({ 'org.systemd.property.Ab': '1' }),
    /annotations\["org\.systemd\.property\.Ab"\]: a systemd property name is 3 or more latin letters/,
  );
  t.throws(() => annotationProperties({ 'org.systemd.property.Cpu_x': '1' }), /3 or more latin letters/);
  t.throws(
    () => annotationProperties({ 'org.systemd.property.CollectMode': 'inactive' }),
    /annotations\["org\.systemd\.property\.CollectMode"\]: cannot parse "inactive"/,
  );
  t.throws(() => annotationProperties({ 'org.systemd.property.TimeoutStopSec': '"30s"' }), /a \.\.\.Sec property takes a number of seconds/);
  t.throws(() => annotationProperties({ 'org.systemd.property.TimeoutStopSec': '-1' }), /-1 seconds is out of range/);

  const host = { mode: 'hybrid' } as CgroupHost;
  const unit = systemdUnit('system.slice:runt:x', 'x');
  const names = scopeProperties(host, unit, 1, { pids: { limit: 5 } }, [['TasksMax', new Variant('t', 9n)]]).map(([n]) => n);
  t.same(
    names.slice(-3),
    ['DefaultDependencies', 'TasksMax', 'TasksMax'],
    "after runt's own properties, before the resources' (which win, as runc's later Set)",
  );
});
