// A small protocol-buffers (proto2) codec for the few messages of CRIU's RPC (images/rpc.proto): varints
// (int32, uint32, bool, enum), length-delimited fields (string, embedded message) and repeated fields, driven
// by a schema object per message. runt has no protobuf dependency; this is all the RPC needs.

export type Scalar = 'int32' | 'uint32' | 'bool' | 'string' | 'enum';

export interface FieldSpec {
  no: number;
  type: Scalar | MessageSpec;
  repeated?: boolean;
}

/** Field name (as the JS object's key) → its number and type. */
export interface MessageSpec {
  [name: string]: FieldSpec;
}

export type Value = number | boolean | string | Message;
export interface Message {
  [name: string]: Value | Value[] | undefined;
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

class Writer {
  private chunks: number[] = [];

  varint(v: bigint): void {
    // negative int32s are sign-extended to 64 bits, as protobuf encodes them (10 bytes)
    let n = BigInt.asUintN(64, v);
    do {
      let byte = Number(n & 0x7fn);
      n >>= 7n;
      if (n) byte |= 0x80;
      this.chunks.push(byte);
    } while (n);
  }

  bytes(b: Uint8Array): void {
    this.varint(BigInt(b.length));
    for (const x of b) this.chunks.push(x);
  }

  key(no: number, wire: number): void {
    this.varint(BigInt((no << 3) | wire));
  }

  done(): Buffer {
    return Buffer.from(this.chunks);
  }
}

export function encode(spec: MessageSpec, msg: Message): Buffer {
  const w = new Writer();
  for (const [name, field] of Object.entries(spec)) {
    const v = msg[name];
    if (v === undefined) continue;
    const values = field.repeated ? (v as Value[]) : [v as Value];
    for (const value of values) encodeField(w, name, field, value);
  }
  for (const name of Object.keys(msg)) {
    if (!(name in spec)) throw new Error(`protobuf: no field "${name}" in this message`);
  }
  return w.done();
}

function encodeField(w: Writer, name: string, field: FieldSpec, value: Value): void {
  const type = field.type;
  if (typeof type === 'object') {
    w.key(field.no, LEN);
    w.bytes(encode(type, value as Message));
    return;
  }
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw new Error(`protobuf: field "${name}" must be a string`);
      w.key(field.no, LEN);
      w.bytes(Buffer.from(value, 'utf8'));
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw new Error(`protobuf: field "${name}" must be a boolean`);
      w.key(field.no, VARINT);
      w.varint(value ? 1n : 0n);
      return;
    default: {
      const limits = type === 'uint32' ? [0, 0xffffffff] : [-0x80000000, 0x7fffffff];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < limits[0]! || value > limits[1]!) {
        throw new Error(`protobuf: field "${name}" must be a ${type}`);
      }
      w.key(field.no, VARINT);
      w.varint(BigInt(value));
    }
  }
}

class Reader {
  pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get more(): boolean {
    return this.pos < this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new Error('protobuf: truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return BigInt.asUintN(64, result);
    }
    throw new Error('protobuf: varint too long');
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error('protobuf: truncated field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** Decodes `buf` as message `spec`; fields not in the spec are skipped, as protobuf requires. */
export function decode(spec: MessageSpec, buf: Uint8Array): Message {
  const byNo = new Map(Object.entries(spec).map(([name, f]) => [f.no, { name, f }]));
  const msg: Message = {};
  const r = new Reader(buf);
  while (r.more) {
    const key = Number(r.varint());
    const no = key >>> 3;
    const wire = key & 7;
    let raw: bigint | Uint8Array;
    if (wire === VARINT) raw = r.varint();
    else if (wire === LEN) raw = r.bytes(Number(r.varint()));
    else if (wire === I64) raw = r.bytes(8);
    else if (wire === I32) raw = r.bytes(4);
    else throw new Error(`protobuf: wire type ${wire} of field ${no} is not supported`);
    const known = byNo.get(no);
    if (!known) continue;
    const value = decodeValue(known.name, known.f, raw);
    if (known.f.repeated) ((msg[known.name] ??= []) as Value[]).push(value);
    else msg[known.name] = value;
  }
  return msg;
}

function decodeValue(name: string, field: FieldSpec, raw: bigint | Uint8Array): Value {
  const type = field.type;
  const wantLen = typeof type === 'object' || type === 'string';
  if (wantLen !== raw instanceof Uint8Array) throw new Error(`protobuf: field "${name}" has the wrong wire type`);
  if (typeof type === 'object') return decode(type, raw as Uint8Array);
  if (type === 'string') return Buffer.from(raw as Uint8Array).toString('utf8');
  const n = raw as bigint;
  if (type === 'bool') return n !== 0n;
  if (type === 'uint32') return Number(BigInt.asUintN(32, n));
  return Number(BigInt.asIntN(32, n));
}
