// Loading CommonJS code from a V8 code cache. Every runt call is a new process, so V8 would compile the CLI
// bundle (~185 KB) on each one, and the schema validator (~285 KB) on each create; the build leaves each
// file's code cache next to it (FILE.cache) and this loads the file as require() would, minus the compile.
// Without a cache (running from src/, as the tests do) or when V8 rejects it (another Node version) it is
// a plain require.
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

export function loadCached(file: string): unknown {
  let cache: Buffer;
  try {
    cache = readFileSync(`${file}.cache`);
  } catch {
    return createRequire(file)(file);
  }
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData: cache });
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}
