// npm run build (and npm install): build/runt, the one file users install and engines call. esbuild bundles
// the CLI (src/main.ts, the schema validator and the shim's executable build/runt-shim included) into one
// CommonJS file, build/runt.cjs; Bun compiles that, with the ffi-rs binding it requires, into a standalone
// executable with its bytecode made ahead of time (README "Speed" has the numbers behind the choice).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

// the shim first: the bundle embeds it
execFileSync('make', ['-s', '-C', join(root, 'native-shim'), `OUT=${out}`], { stdio: 'inherit' });

/** `require('runt-shim-image')` (src/shim/driver.ts) is build/runt-shim's bytes, a Uint8Array. */
const shimImage = {
  name: 'runt-shim-image',
  setup(build) {
    build.onResolve({ filter: /^runt-shim-image$/ }, () => ({ path: join(out, 'runt-shim'), namespace: 'shim-image' }));
    build.onLoad({ filter: /.*/, namespace: 'shim-image' }, (args) => ({ contents: readFileSync(args.path), loader: 'binary' }));
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
  plugins: [shimImage],
  define: { RUNT_VERSION: JSON.stringify(pkg.version), RUNT_COMMIT: JSON.stringify(commit) },
  logLevel: 'warning',
});

const bun = join(dirname(createRequire(import.meta.url).resolve('@oven/bun-linux-x64/package.json')), 'bin', 'bun');
execFileSync(bun, [
  'build', bundle, '--compile', '--bytecode', '--format=cjs', '--outfile', join(out, 'runt'),
  // the runtime reads no file of its caller's directory (an engine runs it in the bundle's)
  '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
], { stdio: ['ignore', 'ignore', 'inherit'] });
