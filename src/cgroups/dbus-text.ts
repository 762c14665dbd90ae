// D-Bus values written as text, in the GVariant text format that `busctl`, `gdbus` and godbus's ParseVariant
// read: `true`, `42` (an int32), `3.5` (a double), `"text"`, `[1, 2]`, `{"k": 1}`, `<"in a variant">`,
// `b"bytes"`, and a type before a value to choose it: `uint64 42`, `@t 42`, `@as []`. A value without a type
// gets the one it infers (an integer int32, a string s...), as godbus does for runc's org.systemd.property.*
// annotations. Not in godbus's reading, so not here either: tuples, `nothing`/`just`, handles.
import { type DBusValue, splitSignature, Variant } from './dbus';

/** The type keywords (GVariant's names), each the signature it stands for. */
const TYPE_WORDS: Record<string, string> = {
  boolean: 'b',
  byte: 'y',
  int16: 'n',
  uint16: 'q',
  int32: 'i',
  uint32: 'u',
  int64: 'x',
  uint64: 't',
  double: 'd',
  string: 's',
  objectpath: 'o',
  signature: 'g',
};

type Token = { kind: 'punct' | 'number' | 'string' | 'bytes' | 'bool' | 'type'; text: string };

class TextError extends Error {}

/** The end (exclusive) of the quoted text that starts at s[at] (its quote), escapes skipped. */
function quotedEnd(s: string, at: number): number {
  const quote = s[at];
  for (let i = at + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === quote) return i + 1;
  }
  throw new TextError('unterminated string');
}

const NUMBER = /^[+-]?(?:0[xX][0-9a-fA-F]*|[0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?/;

function lex(s: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if ('[]{}<>:,'.includes(c)) {
      out.push({ kind: 'punct', text: c });
      i++;
    } else if (c === '"' || c === "'") {
      const end = quotedEnd(s, i);
      out.push({ kind: 'string', text: s.slice(i + 1, end - 1) });
      i = end;
    } else if (c === 'b' && (s[i + 1] === '"' || s[i + 1] === "'")) {
      const end = quotedEnd(s, i + 1);
      out.push({ kind: 'bytes', text: s.slice(i + 2, end - 1) });
      i = end;
    } else if (/[0-9+-]/.test(c)) {
      const text = NUMBER.exec(s.slice(i))![0];
      if (/[A-Za-z]/.test(s[i + text.length] ?? '')) throw new TextError(`bad number syntax: "${s.slice(i, i + text.length + 1)}"`);
      out.push({ kind: 'number', text });
      i += text.length;
    } else if (s.startsWith('true', i) || s.startsWith('false', i)) {
      const text = s.startsWith('true', i) ? 'true' : 'false';
      out.push({ kind: 'bool', text });
      i += text.length;
    } else {
      const word = /^\S+/.exec(s.slice(i))![0];
      let sig: string | undefined;
      if (word.startsWith('@')) {
        sig = word.slice(1);
        if (splitSignature(sig).length !== 1) throw new TextError(`"${sig}" is not a single complete type`);
      } else {
        sig = TYPE_WORDS[word];
        if (sig === undefined) throw new TextError(`unrecognized type "${word}"`);
      }
      out.push({ kind: 'type', text: sig });
      i += word.length;
    }
  }
  return out;
}

/**
 * A value read but not yet typed: `sigs` is every type it may have (empty: no type information, as an empty
 * array without a type), `infer` the one it takes when nothing decides, `value` it in a given type.
 */
interface Node {
  text: string;
  sigs: Set<string>;
  infer(): string;
  value(sig: string): DBusValue;
}

const typeError = (text: string, sig: string): TextError => new TextError(`cannot read ${text} as type "${sig}"`);
const INTEGER_SIGS = ['y', 'n', 'q', 'i', 'u', 'x', 't'];
const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  y: [0n, 255n],
  n: [-(2n ** 15n), 2n ** 15n - 1n],
  q: [0n, 2n ** 16n - 1n],
  i: [-(2n ** 31n), 2n ** 31n - 1n],
  u: [0n, 2n ** 32n - 1n],
  x: [-(2n ** 63n), 2n ** 63n - 1n],
  t: [0n, 2n ** 64n - 1n],
};

/** The single type a node has, else the one it infers. */
function typeOf(n: Node): string {
  return n.sigs.size === 1 ? [...n.sigs][0]! : n.infer();
}

/** Integers: 0x hexadecimal, a leading 0 octal, as Go's strconv reads them; floating point for d. */
function numberAs(text: string, sig: string): DBusValue {
  if (sig === 'd') {
    const v = Number(text);
    if (!/[0-9]/.test(text) || Number.isNaN(v)) throw typeError(text, sig);
    return v;
  }
  const range = INTEGER_RANGES[sig];
  if (!range) throw typeError(text, sig);
  const m = /^([+-]?)(0[xX]([0-9a-fA-F]+)|0([0-7]+)|([0-9]+))$/.exec(text);
  if (!m || (m[1] && range[0] === 0n && m[1] === '-')) throw typeError(text, sig);
  const magnitude = m[3] !== undefined ? BigInt(`0x${m[3]}`) : m[4] !== undefined ? BigInt(`0o${m[4]}`) : BigInt(m[5]!);
  const v = m[1] === '-' ? -magnitude : magnitude;
  if (v < range[0] || v > range[1]) throw new TextError(`${text} is out of range for type "${sig}"`);
  return sig === 'x' || sig === 't' ? v : Number(v);
}

function numberNode(text: string, sig?: string): Node {
  if (sig !== undefined) numberAs(text, sig);
  const float = !/^[+-]?0[xX]/.test(text) && /[.eE]/.test(text);
  return {
    text,
    sigs: new Set(sig !== undefined ? [sig] : float ? ['d'] : [...INTEGER_SIGS, 'd']),
    infer: () => (float ? 'd' : 'i'),
    value: (s) => numberAs(text, s),
  };
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '\n': '' };

function unescapeString(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      out += text[i];
      continue;
    }
    const c = text[++i]!;
    if (c === 'u' || c === 'U') {
      const digits = text.slice(i + 1, i + (c === 'u' ? 5 : 9));
      if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== (c === 'u' ? 4 : 8)) throw new TextError('short unicode escape');
      out += String.fromCodePoint(parseInt(digits, 16));
      i += digits.length;
    } else {
      out += ESCAPES[c] ?? c;
    }
  }
  return out;
}

/** A byte string's bytes: \xHH, \0OOO (three octal digits), the C escapes; a NUL at the end, as GVariant's. */
function unescapeBytes(text: string): Uint8Array {
  const out: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c) {
      out.push(raw[i]!);
      continue;
    }
    const c = String.fromCharCode(raw[++i] ?? 0);
    const digits = raw.subarray(i + 1, i + (c === 'x' ? 3 : c === '0' ? 4 : 1)).toString('latin1');
    if (c === 'x' || c === '0') {
      const v = parseInt(digits, c === 'x' ? 16 : 8);
      if (digits.length !== (c === 'x' ? 2 : 3) || Number.isNaN(v) || v > 255) throw new TextError('short escape');
      out.push(v);
      i += digits.length;
    } else {
      out.push((ESCAPES[c] ?? c).charCodeAt(0));
    }
  }
  out.push(0);
  return Uint8Array.from(out);
}

class Parser {
  private i = 0;

  constructor(private readonly tokens: Token[]) {}

  private next(): Token {
    const t = this.tokens[this.i++];
    if (!t) throw new TextError('unexpected end of the value');
    return t;
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private expect(punct: string): void {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== punct) throw new TextError(`expected "${punct}", got "${t.text}"`);
  }

  get done(): boolean {
    return this.i >= this.tokens.length;
  }

  node(): Node {
    let t = this.next();
    let sig: string | undefined;
    if (t.kind === 'type') {
      sig = t.text;
      t = this.next();
      if (t.kind === 'type') throw new TextError('a second type before one value');
    }
    const allow = (...sigs: string[]): void => {
      if (sig !== undefined && !sigs.includes(sig)) throw typeError(t.text, sig);
    };
    switch (t.kind) {
      case 'number':
        return numberNode(t.text, sig);
      case 'string': {
        allow('s', 'o', 'g');
        const text = unescapeString(t.text);
        return { text, sigs: new Set(sig ? [sig] : ['s', 'o', 'g']), infer: () => 's', value: () => text };
      }
      case 'bool': {
        allow('b');
        const b = t.text === 'true';
        return { text: t.text, sigs: new Set(['b']), infer: () => 'b', value: () => b };
      }
      case 'bytes': {
        allow('ay');
        const bytes = unescapeBytes(t.text);
        return { text: `b"${t.text}"`, sigs: new Set(['ay']), infer: () => 'ay', value: () => bytes };
      }
      case 'punct':
        if (t.text === '[') return this.array(sig);
        if (t.text === '{') return this.dict(sig);
        if (t.text === '<') {
          allow('v');
          const inner = this.node();
          this.expect('>');
          return {
            text: `<${inner.text}>`,
            sigs: new Set(['v']),
            infer: () => 'v',
            value: () => {
              const s = typeOf(inner);
              return new Variant(s, inner.value(s));
            },
          };
        }
    }
    throw new TextError(`unexpected "${t.text}"`);
  }

  /** Comma-separated items up to `close`, each read by `item`. */
  private list(close: string, item: () => void): void {
    if (this.peek()?.kind === 'punct' && this.peek()!.text === close) {
      this.i++;
      return;
    }
    for (;;) {
      item();
      const t = this.next();
      if (t.kind === 'punct' && t.text === close) return;
      if (t.kind !== 'punct' || t.text !== ',') throw new TextError(`unexpected "${t.text}"`);
    }
  }

  private array(sig: string | undefined): Node {
    if (sig !== undefined && !sig.startsWith('a')) throw typeError('[...]', sig);
    let sigs = new Set(sig !== undefined ? [sig] : []);
    const items: Node[] = [];
    this.list(']', () => {
      const n = this.node();
      const as = new Set([...n.sigs].map((s) => `a${s}`));
      if (as.size) sigs = sigs.size ? new Set([...sigs].filter((s) => as.has(s))) : as;
      if (!sigs.size) throw new TextError(`${n.text} does not fit the array's other elements`);
      items.push(n);
    });
    const text = `[${items.map((n) => n.text).join(', ')}]`;
    return {
      text,
      sigs,
      infer: () => {
        const first = items[0];
        if (!first) throw new TextError(`cannot infer the type of ${text}: give one (@as [])`);
        return `a${typeOf(first)}`;
      },
      value: (s) => {
        if (sigs.size && !sigs.has(s)) throw typeError(text, s);
        return items.map((n) => n.value(s.slice(1)));
      },
    };
  }

  private dict(sig: string | undefined): Node {
    let keys = new Set<string>();
    let values = new Set<string>();
    if (sig !== undefined) {
      const entry = sig.startsWith('a{') ? splitSignature(sig.slice(2, -1)) : [];
      if (entry.length !== 2) throw typeError('{...}', sig);
      keys = new Set([entry[0]!]);
      values = new Set([entry[1]!]);
    }
    const narrow = (have: Set<string>, n: Node): Set<string> => {
      if (!n.sigs.size) return have;
      const out = have.size ? new Set([...have].filter((s) => n.sigs.has(s))) : new Set(n.sigs);
      if (!out.size) throw new TextError(`${n.text} does not fit the dictionary's other entries`);
      return out;
    };
    const entries: [Node, Node][] = [];
    this.list('}', () => {
      const k = this.node();
      keys = narrow(keys, k);
      this.expect(':');
      const v = this.node();
      values = narrow(values, v);
      entries.push([k, v]);
    });
    const text = `{${entries.map(([k, v]) => `${k.text}: ${v.text}`).join(', ')}}`;
    const sigs = new Set([...keys].flatMap((k) => [...values].map((v) => `a{${k}${v}}`)));
    return {
      text,
      sigs,
      infer: () => {
        const first = entries[0];
        if (!first) throw new TextError(`cannot infer the type of ${text}: give one (@a{sv} {})`);
        return `a{${typeOf(first[0])}${typeOf(first[1])}}`;
      },
      value: (s) => {
        if (sigs.size && !sigs.has(s)) throw typeError(text, s);
        const [k, v] = splitSignature(s.slice(2, -1)) as [string, string];
        return entries.map(([kn, vn]) => [kn.value(k), vn.value(v)]);
      },
    };
  }
}

/** Reads one value written as text (the whole text) into a variant of the type it has or infers. */
export function parseVariantText(text: string): Variant {
  try {
    const p = new Parser(lex(text));
    const n = p.node();
    if (!p.done) throw new TextError('more text after the value');
    const sig = typeOf(n);
    return new Variant(sig, n.value(sig));
  } catch (e) {
    // a bad signature after @ comes from splitSignature: every error here is the text's
    throw new Error(`cannot parse ${JSON.stringify(text)}: ${(e as Error).message}`);
  }
}
