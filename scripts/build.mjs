// npm run build (and npm install): the CLI bundle build/runt.cjs, then the C shim and the launcher.
// One CommonJS bundle starts fastest (see README "Start-up"); the ffi-rs binding and the generated schema
// validator stay plain requires, loaded only by the commands that use them.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { Script } from 'node:vm';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build');
mkdirSync(out, { recursive: true });

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
let commit = 'unknown';
try {
  commit = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  // not a git checkout
}

const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: [join(root, 'src/main.ts')],
  outfile: join(out, 'runt.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // the schema validator (~285 KB) stays a file of its own: parsing it would cost every call, `state` too
  external: ['@yuuang/ffi-rs-linux-x64-gnu', './validators.cjs'],
  define: { RUNT_VERSION: JSON.stringify(pkg.version), RUNT_COMMIT: JSON.stringify(commit) },
  logLevel: 'warning',
});
copyFileSync(join(root, 'src/spec/validators.cjs'), join(out, 'validators.cjs'));
writeValidatorCodeCache();

/**
 * build/validators.cjs.cache: V8's code for the validator after validating upstream's example config, so
 * that `create` does not compile the validator's functions again (see src/spec/validate.ts).
 */
function writeValidatorCodeCache() {
  const file = join(out, 'validators.cjs');
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, out);
  const example = JSON.parse(readFileSync(join(root, 'test/fixtures/schema/config/good/spec-example.json'), 'utf8'));
  if (!module.exports.validateConfig(example)) throw new Error('the validator rejects the spec example');
  writeFileSync(`${file}.cache`, script.createCachedData());
}

execFileSync('make', ['-s', '-C', join(root, 'native-shim'), `OUT=${out}`, `NODE=${process.execPath}`, `BUNDLE=${join(out, 'runt.cjs')}`], { stdio: 'inherit' });
