// The messages of CRIU's RPC (images/rpc.proto of CRIU, MIT) that runt sends and reads, with their field
// numbers: only the fields runt uses.
import type { MessageSpec } from './proto';

/** criu_req_type */
export const ReqType = {
  DUMP: 1,
  RESTORE: 2,
  PRE_DUMP: 4,
  NOTIFY: 6,
  FEATURE_CHECK: 9,
  VERSION: 10,
} as const;

/** criu_cg_mode, by runc's --manage-cgroups-mode names. */
export const CG_MODES: Record<string, number> = { ignore: 0, soft: 3, full: 4, strict: 5 };
export const CG_MODE_DEFAULT = 6;

const extMountMap: MessageSpec = { key: { no: 1, type: 'string' }, val: { no: 2, type: 'string' } };
const inheritFd: MessageSpec = { key: { no: 1, type: 'string' }, fd: { no: 2, type: 'int32' } };
const cgroupRoot: MessageSpec = { ctrl: { no: 1, type: 'string' }, path: { no: 2, type: 'string' } };
const joinNamespace: MessageSpec = { ns: { no: 1, type: 'string' }, nsFile: { no: 2, type: 'string' } };
const pageServerInfo: MessageSpec = { address: { no: 1, type: 'string' }, port: { no: 2, type: 'int32' } };

export const criuOpts: MessageSpec = {
  imagesDirFd: { no: 1, type: 'int32' },
  pid: { no: 2, type: 'int32' },
  leaveRunning: { no: 3, type: 'bool' },
  extUnixSk: { no: 4, type: 'bool' },
  tcpEstablished: { no: 5, type: 'bool' },
  evasiveDevices: { no: 6, type: 'bool' },
  shellJob: { no: 7, type: 'bool' },
  fileLocks: { no: 8, type: 'bool' },
  logLevel: { no: 9, type: 'int32' },
  logFile: { no: 10, type: 'string' },
  ps: { no: 11, type: pageServerInfo },
  notifyScripts: { no: 12, type: 'bool' },
  root: { no: 13, type: 'string' },
  parentImg: { no: 14, type: 'string' },
  trackMem: { no: 15, type: 'bool' },
  autoDedup: { no: 16, type: 'bool' },
  workDirFd: { no: 17, type: 'int32' },
  linkRemap: { no: 18, type: 'bool' },
  extMnt: { no: 23, type: extMountMap, repeated: true },
  manageCgroups: { no: 24, type: 'bool' },
  cgRoot: { no: 25, type: cgroupRoot, repeated: true },
  rstSibling: { no: 26, type: 'bool' },
  inheritFd: { no: 27, type: inheritFd, repeated: true },
  manageCgroupsMode: { no: 34, type: 'enum' },
  external: { no: 37, type: 'string', repeated: true },
  emptyNs: { no: 38, type: 'uint32' },
  joinNs: { no: 39, type: joinNamespace, repeated: true },
  freezeCgroup: { no: 44, type: 'string' },
  tcpSkipInFlight: { no: 46, type: 'bool' },
  lazyPages: { no: 48, type: 'bool' },
  orphanPtsMaster: { no: 50, type: 'bool' },
  configFile: { no: 51, type: 'string' },
};

const features: MessageSpec = {
  memTrack: { no: 1, type: 'bool' },
  lazyPages: { no: 2, type: 'bool' },
};

export const criuReq: MessageSpec = {
  type: { no: 1, type: 'enum' },
  opts: { no: 2, type: criuOpts },
  notifySuccess: { no: 3, type: 'bool' },
  features: { no: 5, type: features },
};

export const criuResp: MessageSpec = {
  type: { no: 1, type: 'enum' },
  success: { no: 2, type: 'bool' },
  restore: { no: 4, type: { pid: { no: 1, type: 'int32' } } },
  notify: { no: 5, type: { script: { no: 1, type: 'string' }, pid: { no: 2, type: 'int32' } } },
  crErrno: { no: 7, type: 'int32' },
  features: { no: 8, type: features },
  crErrmsg: { no: 9, type: 'string' },
  version: {
    no: 10,
    type: { major: { no: 1, type: 'int32' }, minor: { no: 2, type: 'int32' }, sublevel: { no: 4, type: 'int32' } },
  },
};
