// The CRIU RPC codec against bytes protoc made from CRIU 4.2's images/rpc.proto (`protoc --encode=criu_req
// rpc.proto`), and the criu_opts runt derives from flags and a container's config.
import t from 'tap';
import { criuReq, criuResp, ReqType } from '../../src/criu/messages';
import { cgroupRoots, dumpExtMounts, externalMounts, inheritPipes, passThroughOpts, restoreExtMounts } from '../../src/criu/options';
import { decode, encode, type MessageSpec } from '../../src/criu/proto';
import type { Spec } from '../../src/spec/generated/types';
import { optionsOf } from './options';

// protoc --encode=criu_req rpc.proto of:
// type: RESTORE opts { images_dir_fd: 7 pid: -1 leave_running: true log_file: "dump.log"
//   ext_mnt { key: "/etc/hosts" val: "/tmp/hosts" } ext_mnt { key: "/dev/null" val: "/dev/null" }
//   cg_root { ctrl: "cpu,cpuacct" path: "/runt/x" } cg_root { path: "/runt/x" } manage_cgroups_mode: DEFAULT
//   external: "net[4026531840]:extRootNetNS" empty_ns: 1073741824 inherit_fd { key: "pipe:[123]" fd: 1 } }
// notify_success: true
const REQ_HEX =
  '080212ac01080710ffffffffffffffffff011801520864756d702e6c6f67ba01180a0a2f6574632f686f737473120a2f746d702f686f737473' +
  'ba01160a092f6465762f6e756c6c12092f6465762f6e756c6cca01160a0b6370752c6370756163637412072f72756e742f78ca010912072f72756e742f78' +
  'da010e0a0a706970653a5b3132335d1001900206aa021c6e65745b343032363533313834305d3a657874526f6f744e65744e53b00280808080041801';

// protoc --encode=criu_resp rpc.proto of:
// type: NOTIFY success: true notify { script: "post-restore" pid: 4242 } cr_errno: -2 cr_errmsg: "x"
// version { major_number: 4 minor_number: 2 gitid: "abc" sublevel: 1 } status: 3
const RESP_HEX = '080610012a110a0c706f73742d726573746f726510922138feffffffffffffffff014a0178520b080410021a0361626320015803';

t.test('a criu_req encodes byte for byte as protoc encodes it', async (t) => {
  const bytes = encode(criuReq, {
    type: ReqType.RESTORE,
    opts: {
      imagesDirFd: 7,
      pid: -1,
      leaveRunning: true,
      logFile: 'dump.log',
      extMnt: [
        { key: '/etc/hosts', val: '/tmp/hosts' },
        { key: '/dev/null', val: '/dev/null' },
      ],
      cgRoot: [{ ctrl: 'cpu,cpuacct', path: '/runt/x' }, { path: '/runt/x' }],
      manageCgroupsMode: 6,
      external: ['net[4026531840]:extRootNetNS'],
      emptyNs: 0x40000000,
      inheritFd: [{ key: 'pipe:[123]', fd: 1 }],
    },
    notifySuccess: true,
  });
  t.equal(bytes.toString('hex'), REQ_HEX);
  // and back: what was encoded decodes to the same values
  const back = decode(criuReq, bytes);
  t.same(back.opts, {
    imagesDirFd: 7,
    pid: -1,
    leaveRunning: true,
    logFile: 'dump.log',
    extMnt: [
      { key: '/etc/hosts', val: '/tmp/hosts' },
      { key: '/dev/null', val: '/dev/null' },
    ],
    cgRoot: [{ ctrl: 'cpu,cpuacct', path: '/runt/x' }, { path: '/runt/x' }],
    manageCgroupsMode: 6,
    external: ['net[4026531840]:extRootNetNS'],
    emptyNs: 0x40000000,
    inheritFd: [{ key: 'pipe:[123]', fd: 1 }],
  });
});

t.test('a criu_resp from protoc decodes; fields runt does not know (gitid, status) are skipped', async (t) => {
  const resp = decode(criuResp, Buffer.from(RESP_HEX, 'hex'));
  t.same(resp, {
    type: ReqType.NOTIFY,
    success: true,
    notify: { script: 'post-restore', pid: 4242 },
    crErrno: -2,
    crErrmsg: 'x',
    version: { major: 4, minor: 2, sublevel: 1 },
  });
});

t.test('the codec refuses what it cannot represent', async (t) => {
  const spec: MessageSpec = { n: { no: 1, type: 'int32' }, u: { no: 2, type: 'uint32' }, s: { no: 3, type: 'string' } };
  t.throws(() => encode(spec, { n: 2 ** 31 }), /field "n" must be a int32/);
  t.throws(() => encode(spec, { u: -1 }), /field "u" must be a uint32/);
  t.throws(() => encode(spec, { s: 5 }), /field "s" must be a string/);
  t.throws(() => encode(spec, { nope: 1 }), /no field "nope"/);
  t.throws(() => decode(spec, Buffer.from([0x08])), /truncated varint/);
  t.throws(() => decode(spec, Buffer.from([0x1a, 0x05, 0x61])), /truncated field/);
  t.throws(() => decode(spec, Buffer.from([0x18, 0x01])), /field "s" has the wrong wire type/);
  t.same(encode(spec, { u: 0xffffffff }).toString('hex'), '10ffffffff0f');
  t.same(decode(spec, encode(spec, { u: 0xffffffff, n: -5, s: 'é' })), { n: -5, u: 0xffffffff, s: 'é' });
});

t.test("runc's flags become criu_opts", async (t) => {
  const criuOpts = (...flags: string[]) => passThroughOpts(optionsOf('checkpoint', [...flags, 'c']));
  const opts = criuOpts(
    '--tcp-established',
    '--ext-unix-sk',
    '--shell-job',
    '--file-locks',
    '--manage-cgroups-mode=strict',
    '--empty-ns=network',
    '--auto-dedup',
    '--lazy-pages',
  );
  t.match(opts, {
    tcpEstablished: true,
    extUnixSk: true,
    shellJob: true,
    fileLocks: true,
    manageCgroupsMode: 5,
    emptyNs: 0x40000000,
    autoDedup: true,
    lazyPages: true,
    notifyScripts: true,
    orphanPtsMaster: true,
  });
  t.equal(criuOpts().manageCgroupsMode, 6, 'CRIU default mode without the flag');
  t.throws(() => criuOpts('--empty-ns=pid'), /--empty-ns: namespace "pid" is not supported/);
});

t.test('external mounts: binds, the v1 cgroup binds, masked files, devices', async (t) => {
  const spec = {
    ociVersion: '1.0.0',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/etc/hosts', type: 'bind', source: 'hosts', options: ['rbind'] },
      { destination: '/data/', source: '/srv/data', options: ['bind', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] },
    ],
    linux: { maskedPaths: ['/proc/kcore', '/proc/acpi'], devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] },
  } as Spec;
  const mounts = externalMounts(
    spec,
    '/b',
    () => [
      { kind: 'mount', source: 'tmpfs', target: '', fstype: 'tmpfs', options: [] },
      { kind: 'mount', source: '/sys/fs/cgroup/memory/runt/x', target: 'memory', fstype: 'bind', options: [] },
      { kind: 'symlink', target: 'cpu,cpuacct', linkpath: 'cpu' },
    ],
    (p) => p === '/proc/kcore',
  );
  t.same(mounts, [
    { dest: '/etc/hosts', source: '/b/hosts' },
    { dest: '/data', source: '/srv/data' },
    { dest: '/sys/fs/cgroup/memory', source: '/sys/fs/cgroup/memory/runt/x' },
    { dest: '/proc/kcore', source: '/dev/null' },
    { dest: '/dev/fuse', source: '/dev/fuse' },
  ]);
  t.same(
    dumpExtMounts(mounts).map((m) => `${m.key}=${m.val}`),
    ['/etc/hosts=/etc/hosts', '/data=/data', '/sys/fs/cgroup/memory=/sys/fs/cgroup/memory', '/proc/kcore=/dev/null', '/dev/fuse=/dev/fuse'],
  );
  t.same(
    restoreExtMounts([...mounts, { dest: '/proc/scsi', source: '/dev/null' }]).map((m) => `${m.key}=${m.val}`),
    ['/etc/hosts=/b/hosts', '/data=/srv/data', '/sys/fs/cgroup/memory=/sys/fs/cgroup/memory/runt/x', '/dev/null=/dev/null', '/dev/fuse=/dev/fuse'],
  );
});

t.test('cgroup roots from /proc/PID/cgroup; pipes of the init handed over', async (t) => {
  t.same(cgroupRoots('13:name=systemd:/\n4:cpu,cpuacct:/runt/x\n3:memory:/runt/x\n0::/runt/x\n'), [
    { ctrl: 'name=systemd', path: '/' },
    { ctrl: 'cpu,cpuacct', path: '/runt/x' },
    { ctrl: 'memory', path: '/runt/x' },
    { ctrl: '', path: '/runt/x' },
  ]);
  t.same(inheritPipes(['/dev/null', 'pipe:[77]', 'pipe:[78]']), [
    { key: 'pipe:[77]', fd: 1 },
    { key: 'pipe:[78]', fd: 2 },
  ]);
});
