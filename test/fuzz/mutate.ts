// Deterministic config.json mutations for the fuzz tests: type changes, missing and extra fields, huge
// values, odd strings, and paths with `..` or links. A seed makes every case reproducible.

/** mulberry32: small, fast, good enough to pick mutations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const ODD_STRINGS = [
  '',
  ' ',
  '..',
  '../../../../etc',
  '/proc/self/fd/3',
  '/dev/../proc',
  'a'.repeat(70000),
  'é∂ƒ\u202e',
  '-1',
  'rw,ro',
  'CAP_SYS_ADMIN',
  'RLIMIT_NOFILE',
  'pid',
  '/',
  '//x//',
  'x\ny',
  '%s%n',
  '$(reboot)',
];
const ODD_NUMBERS = [0, -1, 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, -(2 ** 63), 1e308, 0.5, 4294967295, 65536];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** Every path (list of keys) to a node in the document. */
function paths(doc: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(doc)) doc.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (doc && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) paths(v, [...prefix, k], out);
  return out;
}

function oddValue(r: () => number): Json {
  switch (Math.floor(r() * 7)) {
    case 0:
      return pick(r, ODD_STRINGS);
    case 1:
      return pick(r, ODD_NUMBERS);
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return [];
    case 5:
      return {};
    default:
      return [pick(r, ODD_STRINGS), pick(r, ODD_NUMBERS)];
  }
}

/** One to three mutations of a deep copy of `base`; returns the mutated doc and what was done. */
export function mutate(base: Json, seed: number): { doc: Json; what: string[] } {
  const r = rng(seed);
  const doc = JSON.parse(JSON.stringify(base)) as Json;
  const what: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const all = paths(doc).filter((p) => p.length > 0);
    const path = pick(r, all);
    const parent = path.slice(0, -1).reduce<Json>((node, k) => (node as Record<string, Json>)[k as string]!, doc) as Record<string, Json> | Json[];
    const key = path.at(-1)!;
    const op = Math.floor(r() * 5);
    const where = path.join('.');
    if (op === 0 && !Array.isArray(parent)) {
      delete (parent as Record<string, Json>)[key as string];
      what.push(`delete ${where}`);
    } else if (op === 1 && !Array.isArray(parent)) {
      (parent as Record<string, Json>)[`extra${Math.floor(r() * 100)}`] = oddValue(r);
      what.push(`extra field beside ${where}`);
    } else if (op === 2 && Array.isArray(parent)) {
      parent.push(JSON.parse(JSON.stringify(parent[key as number])) as Json);
      what.push(`duplicate ${where}`);
    } else if (op === 3 && typeof (parent as Record<string, Json>)[key as string] === 'string' && /path|destination|source|cwd/.test(String(key))) {
      (parent as Record<string, Json>)[key as string] = pick(r, ['../../..', '/../../tmp', 'rootfs/../..', '/proc/self/root', '/dev/../../etc']);
      what.push(`path ${where}`);
    } else {
      (parent as Record<string | number, Json>)[key as string] = oddValue(r);
      what.push(`replace ${where}`);
    }
  }
  return { doc, what };
}

/** Whether an error message names a config field (or the bundle/argument it is about). */
export function namesField(message: string): boolean {
  return (
    /(^|config\.json: |: )(\(root\)|ociVersion|process|root|mounts|linux|hooks|hostname|domainname|annotations)\b/.test(message) ||
    /^(JSON specification file|bundle |--)/.test(message)
  );
}
