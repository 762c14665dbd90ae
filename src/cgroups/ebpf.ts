// cgroup v2 device control: OCI device rules → a BPF_CGROUP_DEVICE program (pure; attaching is in
// cgroupfs.ts through src/sys/native.ts). The rules are first reduced the way the v1 devices controller
// reads them (a default policy plus exceptions), so a config means the same on v1 and v2; the program then
// checks the exceptions one by one and returns the default when none matches, as runc's devicefilter does.
import type { LinuxDeviceCgroup } from '../spec/generated/types';
import { checkDeviceRule } from './devices';
import { fail } from './emit';

type Node = 'b' | 'c';
const ACCESS = ['r', 'w', 'm'] as const;

/** The exceptions to the default policy: "type major minor" (-1 = any) → access letters. */
interface DeviceState {
  defaultAllow: boolean;
  rules: Map<string, Set<string>>;
}

const key = (type: Node, major: number, minor: number): string => `${type} ${major} ${minor}`;

function parseKey(k: string): { type: Node; major: number; minor: number } {
  const [type, major, minor] = k.split(' ');
  return { type: type as Node, major: Number(major), minor: Number(minor) };
}

/** Takes access away from an exception; as in v1, never from inside a wider wildcard exception. */
function removeAccess(state: DeviceState, type: Node, major: number, minor: number, access: Set<string>, field: string): void {
  for (const [ma, mi] of [
    [-1, minor],
    [major, -1],
    [-1, -1],
  ] as const) {
    if (ma === major && mi === minor) continue;
    const wider = state.rules.get(key(type, ma, mi));
    if (wider && [...access].some((a) => wider.has(a))) {
      const show = (n: number): string => (n === -1 ? '*' : String(n));
      fail(
        field,
        `cannot take access away from ${type} ${show(major)}:${show(minor)} inside the wider rule ${type} ${show(ma)}:${show(mi)} (the device controller cannot punch holes into wildcard rules)`,
      );
    }
  }
  const k = key(type, major, minor);
  const left = new Set([...(state.rules.get(k) ?? [])].filter((a) => !access.has(a)));
  if (left.size > 0) state.rules.set(k, left);
  else state.rules.delete(k);
}

function addAccess(state: DeviceState, type: Node, major: number, minor: number, access: Set<string>): void {
  const k = key(type, major, minor);
  state.rules.set(k, new Set([...(state.rules.get(k) ?? []), ...access]));
}

/**
 * Applies the rules in order as the v1 devices controller would, from deny-all (runc's v2 starting point):
 * an "a" rule for every device and access resets the policy; other rules add or remove exceptions. An "a"
 * rule narrower than everything stands for a "c" and a "b" rule (as in deviceRuleV1).
 */
export function deviceState(rules: LinuxDeviceCgroup[], field: string): DeviceState {
  const state: DeviceState = { defaultAllow: false, rules: new Map() };
  rules.forEach((d, i) => {
    const f = `${field}[${i}]`;
    const r = checkDeviceRule(d, f);
    if (r.all) {
      state.defaultAllow = r.allow;
      state.rules.clear();
      return;
    }
    const access = new Set(r.access);
    for (const t of r.type === 'a' ? (['c', 'b'] as const) : [r.type]) {
      // an exception is what differs from the default: allowing under allow-all removes a deny exception
      if (r.allow === state.defaultAllow) removeAccess(state, t, r.major, r.minor, access, f);
      else addAccess(state, t, r.major, r.minor, access);
    }
  });
  return state;
}

// eBPF encoding (linux/bpf.h, linux/bpf_common.h): one instruction is 8 bytes, op:8 dst:4 src:4 off:16 imm:32.
const BPF_ALU = 0x04;
const BPF_JMP = 0x05;
const BPF_LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const BPF_K = 0x00;
const BPF_X = 0x08;
const BPF_AND = 0x50;
const BPF_RSH = 0x70;
const BPF_MOV = 0xb0;
const BPF_JNE = 0x50;
const BPF_EXIT = 0x90;

/** bpf_cgroup_dev_ctx.access_type: the device type in the low 16 bits, the access in the high 16. */
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
const BPF_DEVCG_ACC = { m: 1, r: 2, w: 4 } as const;

interface Insn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** A jump to the start of the next block: `off` is filled in once the blocks are laid out. */
  toNextBlock?: boolean;
}

const ins = (op: number, dst: number, src: number, off: number, imm: number): Insn => ({ op, dst, src, off, imm });
const jneImmNext = (reg: number, imm: number): Insn => ({ ...ins(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, imm), toNextBlock: true });
const ret = (v: 0 | 1): Insn[] => [ins(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, v), ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)];

/**
 * The program for `rules` (OCI linux.resources.devices, in order): r1 points at bpf_cgroup_dev_ctx; it loads
 * type (r2), access (r3), major (r4) and minor (r5), then one block per exception (sorted by major, minor,
 * type; -1 = any first): on a match it returns the opposite of the default, else it falls to the next block;
 * the last block returns the default. Returns the encoded instructions (little-endian).
 */
export function deviceFilter(rules: LinuxDeviceCgroup[], field: string): Uint8Array {
  const state = deviceState(rules, field);
  const prologue: Insn[] = [
    ins(BPF_LDX_MEM_W, 2, 1, 0, 0),
    ins(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff),
    ins(BPF_LDX_MEM_W, 3, 1, 0, 0),
    ins(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16),
    ins(BPF_LDX_MEM_W, 4, 1, 4, 0),
    ins(BPF_LDX_MEM_W, 5, 1, 8, 0),
  ];
  const entries = [...state.rules.entries()].map(([k, access]) => ({ ...parseKey(k), access }));
  entries.sort((a, b) => a.major - b.major || a.minor - b.minor || a.type.localeCompare(b.type));
  const blocks: Insn[][] = entries.map((e) => {
    const block = [jneImmNext(2, e.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR)];
    if (e.access.size < ACCESS.length) {
      // the access asked for must be within the rule's: (r3 & allowed) == r3, with r1 as scratch
      const mask = ACCESS.filter((a) => e.access.has(a)).reduce((m, a) => m | BPF_DEVCG_ACC[a], 0);
      block.push(ins(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0), ins(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, mask), {
        ...ins(BPF_JMP | BPF_JNE | BPF_X, 1, 3, 0, 0),
        toNextBlock: true,
      });
    }
    if (e.major !== -1) block.push(jneImmNext(4, e.major));
    if (e.minor !== -1) block.push(jneImmNext(5, e.minor));
    block.push(...ret(state.defaultAllow ? 0 : 1));
    return block;
  });
  blocks.push(ret(state.defaultAllow ? 1 : 0));

  const out = new Uint8Array((prologue.length + blocks.reduce((n, b) => n + b.length, 0)) * 8);
  const view = new DataView(out.buffer);
  let pc = 0;
  const emit = (i: Insn): void => {
    view.setUint8(pc * 8, i.op);
    view.setUint8(pc * 8 + 1, (i.src << 4) | i.dst);
    view.setInt16(pc * 8 + 2, i.off, true);
    view.setInt32(pc * 8 + 4, i.imm | 0, true);
    pc++;
  };
  prologue.forEach(emit);
  for (const block of blocks) {
    const next = pc + block.length;
    for (const i of block) emit(i.toNextBlock ? { ...i, off: next - (pc + 1) } : i);
  }
  return out;
}
