// POSIX path arithmetic, as node:path's posix functions compute it (test/unit/path.test.ts compares the two).
// runt's own because loading node:path costs every call that touches a path ~0.7 M instructions and ~1 ms in
// the compiled binary (README "Speed"), for a few lines of string work.

/** `p` with `.`, `..` and repeated slashes resolved; a trailing slash kept; '.' for an empty path. */
export function normalize(p: string): string {
  if (p === '') return '.';
  const absolute = p.startsWith('/');
  const kept: string[] = [];
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') kept.push(segment);
    else if (kept.length > 0 && kept[kept.length - 1] !== '..') kept.pop();
    else if (!absolute) kept.push('..');
  }
  const joined = (absolute ? '/' : '') + kept.join('/');
  const result = joined === '' ? '.' : joined;
  return p.endsWith('/') && result !== '/' ? `${result}/` : result;
}

/** The non-empty parts joined by slashes, normalized. */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  return joined === '' ? '.' : normalize(joined);
}

/** The absolute path the parts name, read from the right and against the working directory. */
export function resolve(...parts: string[]): string {
  let path = '';
  for (let i = parts.length - 1; i >= -1 && !path.startsWith('/'); i--) {
    const part = i >= 0 ? parts[i]! : process.cwd();
    if (part !== '') path = path === '' ? part : `${part}/${path}`;
  }
  const result = normalize(path);
  return result.length > 1 && result.endsWith('/') ? result.slice(0, -1) : result;
}

/** The path from `from` to `to` ('' when they are the same). */
export function relative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean);
  const b = resolve(to).split('/').filter(Boolean);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...Array<string>(a.length - common).fill('..'), ...b.slice(common)].join('/');
}

/** The directory part of `p`: up to the slash before its last name (trailing slashes are not names). */
export function dirname(p: string): string {
  const lastName = p.replace(/\/+$/, '').length - 1;
  // the slash before the last name; one at index 0 is the root, which is kept
  const slash = p.lastIndexOf('/', lastName);
  if (slash <= 0 || lastName <= 0) return p.startsWith('/') ? '/' : '.';
  return slash === 1 && p.startsWith('/') ? '//' : p.slice(0, slash);
}

/** The last part of `p`. */
export function basename(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/**
 * The length of `s` in UTF-8 bytes, as Buffer.byteLength counts it (a lone surrogate as U+FFFD's 3). runt's
 * own because the engine builds the Buffer global at its first use: `state` used it for this alone, ~0.9 ms.
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4; // a surrogate pair: one code point of four bytes
      i++;
    } else n += 3;
  }
  return n;
}
