// The plan's wire format (native-shim/README.md): records of length-prefixed fields, little-endian u32s.
import { ConfigError, type Step } from './types';

export function encodePlan(steps: Step[]): Buffer {
  const chunks: Buffer[] = [];
  const u32 = (n: number): void => {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(n);
    chunks.push(b);
  };
  for (const s of steps) {
    u32(1 + s.args.length);
    for (const field of [s.op, ...s.args]) {
      const bytes = Buffer.from(String(field));
      // C strings end at NUL: such a value would reach the kernel cut short
      if (bytes.includes(0)) throw new ConfigError(`${s.field ?? s.op}: a value contains a NUL byte`);
      u32(bytes.length);
      chunks.push(bytes);
    }
  }
  return Buffer.concat(chunks);
}
