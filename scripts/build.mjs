// npm run build (and npm install): the CLI bundle build/runt-main.cjs and its loader build/runt.cjs, the
// schema validator, V8 code caches for both, then the C shim and the launcher. One CommonJS bundle starts
// fastest (see README "Design notes"); the ffi-rs binding and the validator stay files of their own, loaded
// only by the commands that use them.
//
// `--faults` makes the test build in build/faults/ instead: the same files, with RUNT_FAULTS true, so that
// RUNT_FAULT=<point> makes create die there (test/integration/faults.test.ts). In the production build
// RUNT_FAULTS is false and esbuild drops every fault point: no environment variable can reach them.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { Script } from 'node:vm';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const faults = process.argv.includes('--faults');
const out = join(root, faults ? 'build/faults' : 'build');
mkdirSync(out, { recursive: true });

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
let commit = 'unknown';
try {
  commit = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  // not a git checkout
}

const esbuild = await import('esbuild');
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@yuuang/ffi-rs-linux-x64-gnu'],
  logLevel: 'warning',
};
// the CLI, and build/runt.cjs, the few lines that load it from its code cache (src/load-cached.ts)
await esbuild.build({
  ...common,
  entryPoints: [join(root, 'src/main.ts')],
  outfile: join(out, 'runt-main.cjs'),
  define: { RUNT_VERSION: JSON.stringify(pkg.version), RUNT_COMMIT: JSON.stringify(commit), RUNT_FAULTS: String(faults) },
});
await esbuild.build({ ...common, entryPoints: [join(root, 'src/loader.ts')], outfile: join(out, 'runt.cjs') });
// the schema validator (~285 KB) stays a file of its own, loaded by create only
copyFileSync(join(root, 'src/spec/validators.cjs'), join(out, 'validators.cjs'));

writeCodeCache(join(out, 'runt-main.cjs'));
writeCodeCache(join(out, 'validators.cjs'), (validators) => {
  const example = JSON.parse(readFileSync(join(root, 'test/fixtures/schema/config/good/spec-example.json'), 'utf8'));
  if (!validators.validateConfig(example)) throw new Error('the validator rejects the spec example');
});

/**
 * FILE.cache: V8's code for FILE, as src/load-cached.ts loads it (the same wrapper and file name). With a
 * warm-up, the cache is made after it ran, so the functions it compiled lazily are in it too (the CLI gets
 * none: running it would end this process).
 */
function writeCodeCache(file, warmUp) {
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file });
  if (warmUp) {
    const module = { exports: {} };
    script.runInThisContext()(module.exports, createRequire(file), module, file, out);
    warmUp(module.exports);
  }
  writeFileSync(`${file}.cache`, script.createCachedData());
}

execFileSync('make', ['-s', '-C', join(root, 'native-shim'), `OUT=${out}`, `NODE=${process.execPath}`, `BUNDLE=${join(out, 'runt.cjs')}`], { stdio: 'inherit' });
