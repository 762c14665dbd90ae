// npm run build (and npm install): build/runt, the one file users install and engines call. Bun bundles the
// CLI (src/main.ts) and compiles it, with the ffi-rs binding and the shim's executable, into a standalone
// executable whose bytecode is made ahead of time (README "Design notes" has the numbers behind the choice).
// npm runs this script on Node: it makes the shim, then runs itself again on the pinned Bun for Bun.build.
//
// The bundle is ESM, split at the command modules' dynamic imports (src/main.ts): the executable holds one
// chunk per set of modules the same commands use, and a call loads only the chunks it imports. One bundle of
// everything cost every call its whole bytecode: `state` ran 11.7 M instructions against 8.6 M split (callgrind).
//
// A variant flag makes a build for tests or measurement in build/<variant>/ instead: the same, with the variant's
// constant true. `--faults` (RUNT_FAULTS): RUNT_FAULT=<point> makes create die there
// (test/integration/faults.test.ts). `--phases` (RUNT_PHASES): each call appends where its time went to
// $RUNT_PHASES_FILE (the `phases` case of test/bench/bench.sh). In the production build every such constant is
// false and the bundler folds what it guards away: no environment variable can reach a fault point or a stamp.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const VARIANTS = { faults: 'RUNT_FAULTS', phases: 'RUNT_PHASES' };
const variants = Object.keys(VARIANTS).filter((name) => process.argv.includes(`--${name}`));
if (variants.length > 1) {
  console.error(`build.mjs: one variant at a time, not ${variants.map((v) => `--${v}`).join(' and ')}`);
  process.exit(2);
}
const variant = variants[0];
const out = join(root, variant ? `build/${variant}` : 'build');
const require = createRequire(import.meta.url);
// Files whose bytes build/runt carries, each as an ES module of its own (`require(name).default` is a Uint8Array):
// the bundler makes a required ES module a chunk of its own, loaded when the require runs, so a call that does
// not need the bytes does not load them (the binding's 1 MB in the chunk of sys/native cost every call ~2 ms):
// - runt-shim-image (src/shim/driver.ts): build/runt-shim, written once to a file in the state root that the
//   kernel copies into a sealed memfd per create/run/exec, which is exec'd;
// - runt-ffi-rs-binding (src/sys/binding.ts): ffi-rs's platform binding, written once to a file in the state root
//   that the calls dlopen.
// Each file in the root is named by its content (src/sys/kept.ts): a build with other bytes never takes this one's.
const images = {
  'runt-shim-image': join(out, 'runt-shim'),
  'runt-ffi-rs-binding': require.resolve('@yuuang/ffi-rs-linux-x64-gnu'),
};
const imageModule = (name) => join(out, `${name}.mjs`);

if (!process.versions.bun) {
  mkdirSync(out, { recursive: true });
  // the shim first: build/runt embeds it
  execFileSync('make', ['-s', '-C', join(root, 'native-shim'), `OUT=${out}`], { stdio: 'inherit' });
  for (const [name, file] of Object.entries(images)) {
    const image = readFileSync(file).toString('base64');
    writeFileSync(imageModule(name), `export default new Uint8Array(Buffer.from('${image}', 'base64'));\n`);
  }
  const bun = join(dirname(require.resolve('@oven/bun-linux-x64/package.json')), 'bin', 'bun');
  execFileSync(bun, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
} else {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  const kept = (image, name) => {
    const bytes = readFileSync(images[image]);
    return { file: JSON.stringify(name(createHash('sha256').update(bytes).digest('hex').slice(0, 16))), size: String(bytes.length) };
  };
  const binding = kept('runt-ffi-rs-binding', (hash) => `~ffi-rs-${hash}.node`);
  const shim = kept('runt-shim-image', (hash) => `~runt-shim-${hash}`);
  const result = await Bun.build({
    entrypoints: [join(root, 'src/main.ts')],
    // the runtime reads no file of its caller's directory (an engine runs it in the bundle's)
    // jitPolicy: JavaScriptCore tiers a function up to its JIT 100 times later than by default. A runtime call lives
    // for milliseconds: a JIT compile then costs more than it saves, and its worker thread and code memory cost
    // page faults (`state`: 3 MiB less peak RSS, 5 % fewer faults; `create` 6 MiB, 8 %; test/bench/instructions.sh)
    compile: {
      outfile: join(out, 'runt'),
      autoloadDotenv: false,
      autoloadBunfig: false,
      autoloadPackageJson: false,
      autoloadTsconfig: false,
      jitPolicy: 100,
    },
    target: 'bun',
    format: 'esm',
    splitting: true,
    bytecode: true,
    define: {
      RUNT_VERSION: JSON.stringify(pkg.version),
      RUNT_COMMIT: JSON.stringify(commit),
      ...Object.fromEntries(Object.entries(VARIANTS).map(([name, constant]) => [constant, String(name === variant)])),
      RUNT_FFI_RS_BINDING_FILE: binding.file,
      RUNT_FFI_RS_BINDING_SIZE: binding.size,
      RUNT_SHIM_FILE: shim.file,
      RUNT_SHIM_SIZE: shim.size,
    },
    plugins: [
      {
        name: 'runt-images',
        setup(build) {
          build.onResolve({ filter: /^runt-(shim-image|ffi-rs-binding)$/ }, (args) => ({ path: imageModule(args.path) }));
        },
      },
    ],
  });
  for (const message of result.logs) console.error(String(message));
  if (!result.success) process.exit(1);
}
