// npm run build (and npm install): build/runt, the one file users install and engines call. esbuild bundles
// the CLI (src/main.ts) into one CommonJS file, build/runt.cjs; Bun compiles that, with the modules it
// requires (the schema validator, the shim's executable, the ffi-rs binding), into a standalone executable
// with its bytecode made ahead of time (README "Design notes" has the numbers behind the choice).
//
// `--faults` makes the test build in build/faults/ instead: the same, with RUNT_FAULTS true, so that
// RUNT_FAULT=<point> makes create die there (test/integration/faults.test.ts). In the production build
// RUNT_FAULTS is false and esbuild drops every fault point: no environment variable can reach them.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

// the shim first: build/runt embeds it
execFileSync('make', ['-s', '-C', join(root, 'native-shim'), `OUT=${out}`], { stdio: 'inherit' });

// Two modules stay files of their own in build/, embedded next to the bundle and initialised only by the
// commands that require them, so that the others do not load them: the schema validator (~285 KB,
// src/spec/validate.ts) and `require('runt-shim-image')` (src/shim/driver.ts), build/runt-shim's bytes.
copyFileSync(join(root, 'src/spec/generated/validators.cjs'), join(out, 'validators.cjs'));
const shimImage = readFileSync(join(out, 'runt-shim')).toString('base64');
writeFileSync(join(out, 'runt-shim-image.cjs'), `module.exports = new Uint8Array(Buffer.from('${shimImage}', 'base64'));\n`);
const ownModules = {
  name: 'own-modules',
  setup(build) {
    build.onResolve({ filter: /^(runt-shim-image|\.\/validators\.cjs)$/ }, (args) => ({
      path: args.path === 'runt-shim-image' ? './runt-shim-image.cjs' : args.path,
      external: true,
    }));
  },
};

const esbuild = await import('esbuild');
const bundle = join(out, 'runt.cjs');
await esbuild.build({
  entryPoints: [join(root, 'src/main.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // a native addon: Bun embeds it in the executable
  external: ['@yuuang/ffi-rs-linux-x64-gnu'],
  plugins: [ownModules],
  define: { RUNT_VERSION: JSON.stringify(pkg.version), RUNT_COMMIT: JSON.stringify(commit), RUNT_FAULTS: String(faults) },
  logLevel: 'warning',
});

const bun = join(dirname(createRequire(import.meta.url).resolve('@oven/bun-linux-x64/package.json')), 'bin', 'bun');
execFileSync(
  bun,
  [
    'build',
    bundle,
    join(out, 'validators.cjs'),
    join(out, 'runt-shim-image.cjs'),
    '--compile',
    '--bytecode',
    '--format=cjs',
    '--outfile',
    join(out, 'runt'),
    // the runtime reads no file of its caller's directory (an engine runs it in the bundle's)
    '--no-compile-autoload-dotenv',
    '--no-compile-autoload-bunfig',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
