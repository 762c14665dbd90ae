// The CRIU RPC codec against bytes protoc made from CRIU 4.2's images/rpc.proto (`protoc --encode=criu_req
// rpc.proto`), and the criu_opts runt derives from flags and a container's config.
import t from 'tap';
import { restoreConsoleSocket } from '../../src/criu/console';
import { pageServerInfo, requireLazyPipeSize } from '../../src/criu/lazy';
import { criuReq, criuResp, ReqType } from '../../src/criu/messages';
import { mountpointPlan } from '../../src/criu/mountpoints';
import { cgroupRoots, dumpExtMounts, externalMounts, inheritPipes, passThroughOpts, restoreExtMounts } from '../../src/criu/options';
import { decode, encode, type MessageSpec } from '../../src/criu/proto';
import type { Spec } from '../../src/spec/generated/types';
import { optionsOf } from './options';
import { FAKE_HOST } from './plan-context';

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
  const opts = {
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
  };
  const bytes = encode(criuReq, {
    type: ReqType.RESTORE,
    opts,
    notifySuccess: true,
  });
  t.equal(bytes.toString('hex'), REQ_HEX);
  // and back: what was encoded decodes to the same values
  const back = decode(criuReq, bytes);
  t.same(back.opts, opts);
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

// protoc --encode=criu_req rpc.proto of: type: DUMP opts { images_dir_fd: 5 lazy_pages: true ps { address: "127.0.0.1" port: 27277 } }
const LAZY_DUMP_HEX = '0801121608055a0f0a093132372e302e302e31108dd501800301';
// protoc --encode=criu_resp rpc.proto of: type: NOTIFY success: true notify { script: "orphan-pts-master" }
const ORPHAN_NOTIFY_HEX = '080610012a130a116f727068616e2d7074732d6d6173746572';

t.test('a lazy dump: --page-server as criu_page_server_info, byte for byte as protoc encodes it', async (t) => {
  const ps = pageServerInfo('127.0.0.1:27277');
  t.equal(encode(criuReq, { type: ReqType.DUMP, opts: { imagesDirFd: 5, lazyPages: true, ps } }).toString('hex'), LAZY_DUMP_HEX);
  t.same(pageServerInfo('[::1]:80'), { address: '::1', port: 80 }, 'IPv6 in brackets');
  for (const bad of ['nocolon', ':80', 'host:', '::1:80', '[::1]80']) {
    t.throws(() => pageServerInfo(bad), /--page-server: use --page-server ADDRESS:PORT/, bad);
  }
  t.throws(() => pageServerInfo('h:x1'), /--page-server: invalid port number "x1"/);
  t.throws(() => pageServerInfo('h:70000'), /invalid port number "70000"/);
});

t.test("a lazy dump needs CRIU's 4 MiB pipe: CAP_SYS_RESOURCE, or fs.pipe-max-size that large", async (t) => {
  const caps = (eff: string) => `Name:\truntime\nCapEff:\t${eff}\n`;
  t.throws(() => requireLazyPipeSize(caps('000001fffeffffff'), 1048576), /fs\.pipe-max-size \(1048576\) must be raised to that/);
  t.doesNotThrow(() => requireLazyPipeSize(caps('000001ffffffffff'), 1048576), 'CAP_SYS_RESOURCE passes the limit');
  t.doesNotThrow(() => requireLazyPipeSize(caps('000001fffeffffff'), 4194304));
});

t.test('a restored terminal: its master comes with the orphan-pts-master NOTIFY; --console-socket against process.terminal', async (t) => {
  t.match(decode(criuResp, Buffer.from(ORPHAN_NOTIFY_HEX, 'hex')), { type: ReqType.NOTIFY, success: true, notify: { script: 'orphan-pts-master' } });
  const spec = (terminal: boolean) => ({ ociVersion: '1.0.0', process: { terminal, cwd: '/', args: ['sh'] } }) as Spec;
  t.equal(restoreConsoleSocket(spec(true), '/run/s.sock'), '/run/s.sock');
  t.equal(restoreConsoleSocket(spec(false), undefined), undefined);
  t.throws(() => restoreConsoleSocket(spec(true), undefined), /process\.terminal: restoring a container with a terminal needs --console-socket/);
  t.throws(() => restoreConsoleSocket(spec(false), '/run/s.sock'), /--console-socket: given but process\.terminal is false/);
});

t.test("the mount points before a restore: binds as create makes them, a stand-in tmpfs for the rest, in a namespace of the shim's own", async (t) => {
  const spec = {
    ociVersion: '1.0.0',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup' },
      { destination: '/srv/data/', type: 'bind', source: 'data', options: ['rbind', 'ro'] },
      { destination: '/etc/hosts', type: 'bind', source: '/b/hosts.txt', options: ['bind'] },
    ],
  } as Spec;
  const plan = mountpointPlan(spec, '/b', '/b/rootfs', FAKE_HOST);
  t.same(
    plan.parent.map((s) => [s.op, ...s.args]),
    [['RUNT-PLAN', 3], ['MODE', 'wait'], ['CLONE', 0x20000], ['END']],
  );
  t.same(
    plan.child.map((s) => [s.op, s.args.slice(0, 3).join(' '), s.field]),
    [
      ['MOUNT_PATH', ' / ', undefined],
      ['ROOTFS', '/b/rootfs', 'root.path'],
      ['MOUNT', 'tmpfs /proc tmpfs', 'mounts[0]'],
      ['MOUNT', 'tmpfs /dev tmpfs', 'mounts[1]'],
      ['BIND', '/b/data /srv/data dir', 'mounts[3]'],
      ['BIND', '/b/hosts.txt /etc/hosts file', 'mounts[4]'],
      ['SEND', 'READY', undefined],
      ['END', '', undefined],
    ],
  );
  t.same(plan.child[0]!.args[3], (1 << 14) | (1 << 18), 'the namespace is private: nothing made in it reaches the host');
  t.same(plan.child[2]!.args.slice(3), [0, '', 'dir'], 'a plain tmpfs, whatever the mount would be');
});
