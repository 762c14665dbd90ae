// A minimal D-Bus client: SASL EXTERNAL over a unix socket, the wire format (marshalling of every basic and
// container type), method calls with their replies, signals, and answering calls (for a peer that serves).
// Only what the systemd cgroup driver needs, so runt takes no D-Bus library; loaded only with --systemd-cgroup.
import * as net from 'node:net';
import { errnoOf, HostError } from '../errors';

/** A value in a D-Bus variant: its signature travels with it. */
export class Variant {
  constructor(
    readonly signature: string,
    readonly value: DBusValue,
  ) {}
}

/**
 * How D-Bus values are held in JS: integers as number (64-bit ones as bigint), s/o/g as string, b as boolean,
 * ay as Uint8Array (or number[]), arrays as arrays, structs and dict entries as arrays of their fields.
 */
export type DBusValue = number | bigint | string | boolean | Uint8Array | Variant | DBusValue[];

/** An error reply, the peer's refusal: `name` is the D-Bus error name (org.freedesktop.systemd1.NoSuchUnit...). */
export class DBusError extends HostError {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

export enum MessageType {
  MethodCall = 1,
  MethodReturn = 2,
  Error = 3,
  Signal = 4,
}

export interface Message {
  type: MessageType;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature: string;
  body: DBusValue[];
}

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;
const FIELD_SIG: Record<number, string> = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g' };

/** End (exclusive) of the single complete type starting at sig[i]. */
function typeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === 'a') return typeEnd(sig, i + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new Error(`D-Bus: unterminated ${c} in signature "${sig}"`);
      j = typeEnd(sig, j);
    }
    return j + 1;
  }
  if (c === undefined || !'ybnqiuxtdsoghv'.includes(c)) throw new Error(`D-Bus: bad signature "${sig}" at ${i}`);
  return i + 1;
}

/** The complete types of a signature: "ssa(sv)" → ["s", "s", "a(sv)"]. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < sig.length; ) {
    const end = typeEnd(sig, i);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

function alignOf(type: string): number {
  switch (type[0]) {
    case 'y':
    case 'g':
    case 'v':
      return 1;
    case 'n':
    case 'q':
      return 2;
    case 'x':
    case 't':
    case 'd':
    case '(':
    case '{':
      return 8;
    default:
      return 4;
  }
}

/** Fields of a struct or dict-entry type: "(sv)" → ["s", "v"]. */
const innerTypes = (type: string): string[] => splitSignature(type.slice(1, -1));

class Writer {
  buf = Buffer.alloc(256);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  align(n: number): void {
    const pad = (n - (this.pos % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.pos, this.pos + pad);
    this.pos += pad;
  }

  u8(v: number): void {
    this.room(1);
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
  }
  u32(v: number): void {
    this.align(4);
    this.room(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  value(type: string, v: DBusValue): void {
    const bad: () => never = () => {
      throw new Error(`D-Bus: cannot marshal ${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x))} as "${type}"`);
    };
    const num = (): number => (typeof v === 'number' && Number.isInteger(v) ? v : bad());
    const big = (): bigint => (typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : bad());
    switch (type[0]) {
      case 'y':
        this.u8(num());
        return;
      case 'b':
        this.u32(typeof v === 'boolean' ? (v ? 1 : 0) : bad());
        return;
      case 'n':
        this.align(2);
        this.room(2);
        this.buf.writeInt16LE(num(), this.pos);
        this.pos += 2;
        return;
      case 'q':
        this.align(2);
        this.room(2);
        this.buf.writeUInt16LE(num(), this.pos);
        this.pos += 2;
        return;
      case 'i':
        this.align(4);
        this.room(4);
        this.buf.writeInt32LE(num(), this.pos);
        this.pos += 4;
        return;
      case 'u':
        this.u32(num());
        return;
      case 'x':
        this.align(8);
        this.room(8);
        this.buf.writeBigInt64LE(big(), this.pos);
        this.pos += 8;
        return;
      case 't':
        this.align(8);
        this.room(8);
        this.buf.writeBigUInt64LE(big(), this.pos);
        this.pos += 8;
        return;
      case 'd':
        this.align(8);
        this.room(8);
        this.buf.writeDoubleLE(typeof v === 'number' ? v : bad(), this.pos);
        this.pos += 8;
        return;
      case 's':
      case 'o':
      case 'g': {
        // a signature's length is a byte, a string's a uint32; both end in NUL
        const b = Buffer.from(typeof v === 'string' ? v : bad(), 'utf8');
        if (type === 'g') this.u8(b.length);
        else this.u32(b.length);
        this.bytes(b);
        this.u8(0);
        return;
      }
      case 'v': {
        if (!(v instanceof Variant)) bad();
        splitSignature(v.signature).length === 1 || bad();
        this.value('g', v.signature);
        this.value(v.signature, v.value);
        return;
      }
      case 'a': {
        const elem = type.slice(1);
        if (!Array.isArray(v) && !(elem === 'y' && v instanceof Uint8Array)) bad();
        this.u32(0);
        const lengthAt = this.pos - 4;
        this.align(alignOf(elem));
        const start = this.pos;
        if (v instanceof Uint8Array) this.bytes(v);
        else for (const e of v as DBusValue[]) this.value(elem, e);
        this.buf.writeUInt32LE(this.pos - start, lengthAt);
        return;
      }
      case '(':
      case '{': {
        const fields = innerTypes(type);
        if (!Array.isArray(v) || v.length !== fields.length) bad();
        this.align(8);
        fields.forEach((f, i) => this.value(f, v[i]!));
        return;
      }
      default:
        bad();
    }
  }
}

/** Marshals `values` of signature `sig` (alignment counted from 0: a body, which starts 8-aligned). */
export function marshal(sig: string, values: DBusValue[]): Buffer {
  const types = splitSignature(sig);
  if (types.length !== values.length) throw new Error(`D-Bus: signature "${sig}" wants ${types.length} values, got ${values.length}`);
  const w = new Writer();
  types.forEach((t, i) => w.value(t, values[i]!));
  return w.buf.subarray(0, w.pos);
}

class Reader {
  pos: number;
  constructor(
    private readonly buf: Buffer,
    private readonly le: boolean,
    pos = 0,
  ) {
    this.pos = pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('D-Bus: message truncated');
  }

  align(n: number): void {
    this.pos += (n - (this.pos % n)) % n;
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  u32(): number {
    this.align(4);
    this.need(4);
    const v = this.le ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  private fixed<T>(size: number, le: (o: number) => T, be: (o: number) => T): T {
    this.align(size);
    this.need(size);
    const v = this.le ? le(this.pos) : be(this.pos);
    this.pos += size;
    return v;
  }

  private string(len: number): string {
    this.need(len + 1);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len + 1;
    return s;
  }

  value(type: string): DBusValue {
    const b = this.buf;
    switch (type[0]) {
      case 'y':
        return this.u8();
      case 'b':
        return this.u32() !== 0;
      case 'n':
        return this.fixed(
          2,
          (o) => b.readInt16LE(o),
          (o) => b.readInt16BE(o),
        );
      case 'q':
        return this.fixed(
          2,
          (o) => b.readUInt16LE(o),
          (o) => b.readUInt16BE(o),
        );
      case 'i':
        return this.fixed(
          4,
          (o) => b.readInt32LE(o),
          (o) => b.readInt32BE(o),
        );
      case 'u':
      case 'h':
        return this.u32();
      case 'x':
        return this.fixed(
          8,
          (o) => b.readBigInt64LE(o),
          (o) => b.readBigInt64BE(o),
        );
      case 't':
        return this.fixed(
          8,
          (o) => b.readBigUInt64LE(o),
          (o) => b.readBigUInt64BE(o),
        );
      case 'd':
        return this.fixed(
          8,
          (o) => b.readDoubleLE(o),
          (o) => b.readDoubleBE(o),
        );
      case 's':
      case 'o':
        return this.string(this.u32());
      case 'g':
        return this.string(this.u8());
      case 'v': {
        const sig = this.value('g') as string;
        splitSignature(sig);
        return new Variant(sig, this.value(sig));
      }
      case 'a': {
        const elem = type.slice(1);
        const len = this.u32();
        this.align(alignOf(elem));
        const end = this.pos + len;
        this.need(len);
        if (elem === 'y') {
          const bytes = Uint8Array.from(b.subarray(this.pos, end));
          this.pos = end;
          return bytes;
        }
        const out: DBusValue[] = [];
        while (this.pos < end) out.push(this.value(elem));
        if (this.pos !== end) throw new Error('D-Bus: array length does not match its elements');
        return out;
      }
      case '(':
      case '{':
        this.align(8);
        return innerTypes(type).map((f) => this.value(f));
      default:
        throw new Error(`D-Bus: cannot read type "${type}"`);
    }
  }
}

/** Reads values of signature `sig` from `buf` (a body: alignment counted from its start). */
export function unmarshal(sig: string, buf: Buffer, le = true): DBusValue[] {
  const r = new Reader(buf, le);
  return splitSignature(sig).map((t) => r.value(t));
}

/** The whole message on the wire (little-endian, protocol version 1). */
export function encodeMessage(m: Omit<Message, 'sender'> & { sender?: string }): Buffer {
  const body = marshal(m.signature, m.body);
  const fields: DBusValue[] = [];
  for (const [name, code] of Object.entries(FIELD)) {
    const v = name === 'signature' ? m.signature || undefined : (m as unknown as Record<string, string | number | undefined>)[name];
    if (v !== undefined) fields.push([code, new Variant(FIELD_SIG[code]!, v)]);
  }
  const w = new Writer();
  w.u8('l'.charCodeAt(0));
  w.u8(m.type);
  w.u8(m.flags);
  w.u8(1);
  w.u32(body.length);
  w.u32(m.serial);
  w.value('a(yv)', fields);
  w.align(8);
  w.bytes(body);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** The length of the message at the start of `buf`, or undefined while its fixed header is incomplete. */
function messageLength(buf: Buffer): number | undefined {
  if (buf.length < 16) return undefined;
  const le = endianOf(buf);
  const bodyLen = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLen = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const headerLen = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
  return headerLen + bodyLen;
}

function endianOf(buf: Buffer): boolean {
  const e = String.fromCharCode(buf[0]!);
  if (e !== 'l' && e !== 'B') throw new Error(`D-Bus: bad endianness byte ${buf[0]}`);
  return e === 'l';
}

/** Decodes one whole message. */
export function decodeMessage(buf: Buffer): Message {
  const le = endianOf(buf);
  const r = new Reader(buf, le);
  const [, type, flags, version, bodyLen, serial, fields] = ['y', 'y', 'y', 'y', 'u', 'u', 'a(yv)'].map((t) => r.value(t)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    [number, Variant][],
  ];
  if (version !== 1) throw new Error(`D-Bus: protocol version ${version} is not supported`);
  r.align(8);
  const m: Message = { type, flags, serial, signature: '', body: [] };
  const byCode = Object.fromEntries(Object.entries(FIELD).map(([k, v]) => [v, k]));
  for (const [code, v] of fields) {
    const name = byCode[code];
    if (name) (m as unknown as Record<string, unknown>)[name] = v.value;
  }
  m.body = m.signature ? unmarshal(m.signature, buf.subarray(r.pos, r.pos + bodyLen), le) : [];
  return m;
}

/** The first unix-socket address of a D-Bus address list ("unix:path=/run/dbus/system_bus_socket;..."). */
export function socketPath(address: string): string {
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (entry.slice(0, colon) !== 'unix') continue;
    const kv = Object.fromEntries(
      entry
        .slice(colon + 1)
        .split(',')
        .map((p) => {
          const eq = p.indexOf('=');
          return [p.slice(0, eq), decodeURIComponent(p.slice(eq + 1))];
        }),
    );
    if (kv.path) return kv.path;
    if (kv.abstract) return `\0${kv.abstract}`;
  }
  throw new HostError(`D-Bus: no unix:path= or unix:abstract= address in ${JSON.stringify(address)}`);
}

export const SYSTEM_BUS = 'unix:path=/run/dbus/system_bus_socket';

export type Handler = (m: Message) => void;

/** One connection to a bus: calls with their replies, signals, and incoming calls. */
export class Bus {
  private serial = 0;
  private pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private buffered = Buffer.alloc(0);
  private handlers = new Set<Handler>();
  /** The unique name the bus gave this connection (Hello). */
  name = '';

  private constructor(private readonly socket: net.Socket) {}

  /** Connects, authenticates (SASL EXTERNAL, as this process's uid) and says Hello. */
  static async connect(address: string): Promise<Bus> {
    const path = socketPath(address);
    const socket = net.createConnection(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (e) => reject(new HostError(`D-Bus: cannot connect to ${path}: ${e.message}`, errnoOf(e))));
    });
    const bus = new Bus(socket);
    const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
    socket.write(`\0AUTH EXTERNAL ${uid}\r\n`);
    const line = await readLine(socket);
    if (!line.startsWith('OK ')) {
      socket.destroy();
      throw new HostError(`D-Bus: authentication refused by ${path}: ${line}`);
    }
    socket.write('BEGIN\r\n');
    bus.listen();
    const [name] = await bus.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello', '', []);
    bus.name = name as string;
    return bus;
  }

  private listen(): void {
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      for (;;) {
        const len = messageLength(this.buffered);
        if (len === undefined || this.buffered.length < len) break;
        const raw = this.buffered.subarray(0, len);
        this.buffered = this.buffered.subarray(len);
        this.dispatch(decodeMessage(raw));
      }
    });
    const fail = (e: Error): void => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.socket.on('error', (e) => fail(new HostError(`D-Bus: ${e.message}`, errnoOf(e))));
    this.socket.on('close', () => fail(new HostError('D-Bus: the bus closed the connection')));
  }

  private dispatch(m: Message): void {
    if ((m.type === MessageType.MethodReturn || m.type === MessageType.Error) && m.replySerial !== undefined) {
      const p = this.pending.get(m.replySerial);
      if (!p) return;
      this.pending.delete(m.replySerial);
      p.resolve(m);
      return;
    }
    for (const h of this.handlers) h(m);
  }

  /** Calls `handler` with every signal and incoming method call. */
  on(handler: Handler): void {
    this.handlers.add(handler);
  }

  off(handler: Handler): void {
    this.handlers.delete(handler);
  }

  send(m: Omit<Message, 'serial' | 'flags'> & { flags?: number }): number {
    const serial = ++this.serial;
    this.socket.write(encodeMessage({ flags: 0, ...m, serial }));
    return serial;
  }

  /** A method call; resolves with the reply's body, rejects with a DBusError for an error reply. */
  call(destination: string, path: string, iface: string, member: string, signature: string, body: DBusValue[]): Promise<DBusValue[]> {
    return new Promise((resolve, reject) => {
      const serial = this.send({ type: MessageType.MethodCall, destination, path, interface: iface, member, signature, body });
      this.pending.set(serial, {
        resolve: (m) => {
          if (m.type === MessageType.Error) reject(new DBusError(m.errorName ?? 'unknown', `${m.errorName}: ${String(m.body[0] ?? '')}`));
          else resolve(m.body);
        },
        reject,
      });
    });
  }

  /** Replies to an incoming call. */
  reply(to: Message, signature: string, body: DBusValue[]): void {
    this.send({ type: MessageType.MethodReturn, replySerial: to.serial, destination: to.sender, signature, body });
  }

  replyError(to: Message, errorName: string, text: string): void {
    this.send({ type: MessageType.Error, replySerial: to.serial, destination: to.sender, errorName, signature: 's', body: [text] });
  }

  emit(path: string, iface: string, member: string, signature: string, body: DBusValue[]): void {
    this.send({ type: MessageType.Signal, path, interface: iface, member, signature, body });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

/** One CRLF-terminated line of the authentication exchange. */
function readLine(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', onError);
      if (end + 2 < text.length) socket.unshift(Buffer.from(text.slice(end + 2), 'latin1'));
      resolve(text.slice(0, end));
    };
    const onError = (e: Error): void => reject(new HostError(`D-Bus: ${e.message}`, errnoOf(e)));
    socket.on('data', onData);
    socket.once('error', onError);
  });
}
