#!/usr/bin/env node
// Generates, from the OCI runtime-spec JSON schema files in schema/ (kept byte for byte as upstream ships them):
//   src/spec/generated/types.ts       TypeScript types (json-schema-to-typescript), named after specs-go
//   src/spec/generated/validators.cjs standalone ajv validators (CommonJS, no ajv at run time):
//                           validateConfig, validateState, validateFeatures, and validateResources (the
//                           LinuxResources of config-linux.json, for `update --resources`)
//
//   node scripts/gen-schema.mjs           write both files
//   node scripts/gen-schema.mjs --check   regenerate in memory; exit 1 naming each stale file, 0 if fresh
//
// Every transformation of the upstream schema happens here, in memory:
//   - `$schema` (draft-04) is dropped: ajv 8 speaks draft-07, which the OCI files are compatible with.
//   - ACCEPTED: values upstream's schema refuses that runc accepts and clients write, added to its enums (both
//     the validator and the types take them).
//   - defs.json's malformed `"$ref": "#definitions/uint32"` becomes `#/definitions/uint32`.
//   - types only: the non-Linux platform sections are dropped, inline objects get specs-go names (TITLES),
//     TYPE_PATCHES narrow a string to the union its pattern allows, single-branch anyOf/allOf are unwrapped,
//     allOf of objects is flattened, `patternProperties: {".{1,}": X}` becomes `additionalProperties: X`.
//   - validator only: strictTuples is off (config-vm.json's one-element `items` array keeps its draft-04 meaning).
//   - validator only: config-linux.json's `linux.resources` becomes a schema of its own (RESOURCES_ID) that
//     `linux` refers to, so validateConfig and validateResources share one compiled function.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Ajv = require('ajv').default;
const standaloneCode = require('ajv/dist/standalone').default;
const { compile } = require('json-schema-to-typescript');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA_DIR = path.join(ROOT, 'schema');
const TYPES_OUT = 'src/spec/generated/types.ts';
const VALIDATORS_OUT = 'src/spec/generated/validators.cjs';
/** The id under which the validator knows config-linux.json's `linux.resources` (see buildValidators). */
const RESOURCES_ID = 'linux-resources.json';

/** Top-level keys of the config-<platform>.json files; they are not JSON-schema keywords. */
const PLATFORMS = ['linux', 'solaris', 'windows', 'vm', 'zos', 'freebsd'];
/** Platform sections left out of the TypeScript types (the validator still checks them). */
const NON_LINUX = PLATFORMS.filter((p) => p !== 'linux');

/** Type names, keyed by file and JSON pointer into the upstream file. */
const TITLES = {
  'config-schema.json': {
    '': 'Spec',
    '/properties/hooks': 'Hooks',
    '/properties/root': 'Root',
    '/properties/process': 'Process',
    '/properties/process/properties/consoleSize': 'Box',
    '/properties/process/properties/user': 'User',
    '/properties/process/properties/capabilities': 'LinuxCapabilities',
    '/properties/process/properties/ioPriority': 'IOPriority',
    '/properties/process/properties/ioPriority/properties/class': 'IOPriorityClass',
    '/properties/process/properties/scheduler': 'Scheduler',
    '/properties/process/properties/rlimits/items': 'POSIXRlimit',
    '/properties/process/properties/execCPUAffinity': 'CPUAffinity',
  },
  'defs.json': {
    '/definitions/Hook': 'Hook',
    '/definitions/IDMapping': 'LinuxIDMapping',
    '/definitions/Mount': 'Mount',
  },
  'config-linux.json': {
    '/linux': 'Linux',
    '/linux/properties/resources': 'LinuxResources',
    '/linux/properties/resources/properties/pids': 'LinuxPids',
    '/linux/properties/resources/properties/blockIO': 'LinuxBlockIO',
    '/linux/properties/resources/properties/cpu': 'LinuxCPU',
    '/linux/properties/resources/properties/hugepageLimits/items': 'LinuxHugepageLimit',
    '/linux/properties/resources/properties/memory': 'LinuxMemory',
    '/linux/properties/resources/properties/network': 'LinuxNetwork',
    '/linux/properties/seccomp': 'LinuxSeccomp',
    '/linux/properties/intelRdt': 'LinuxIntelRdt',
    '/linux/properties/memoryPolicy': 'LinuxMemoryPolicy',
    '/linux/properties/timeOffsets': 'LinuxTimeOffsets',
  },
  'defs-linux.json': {
    '/definitions/PersonalityDomain': 'LinuxPersonalityDomain',
    '/definitions/Personality': 'LinuxPersonality',
    '/definitions/RootfsPropagation': 'LinuxRootfsPropagation',
    '/definitions/SeccompArch': 'Arch',
    '/definitions/SeccompAction': 'LinuxSeccompAction',
    '/definitions/SeccompFlag': 'LinuxSeccompFlag',
    '/definitions/SeccompOperators': 'LinuxSeccompOperator',
    '/definitions/SyscallArg': 'LinuxSeccompArg',
    '/definitions/Syscall': 'LinuxSyscall',
    '/definitions/Device': 'LinuxDevice',
    '/definitions/NetDevice': 'LinuxNetDevice',
    '/definitions/blockIODevice': 'LinuxBlockIODevice',
    '/definitions/blockIODeviceWeight': 'LinuxWeightDevice',
    '/definitions/blockIODeviceThrottle': 'LinuxThrottleDevice',
    '/definitions/DeviceCgroup': 'LinuxDeviceCgroup',
    '/definitions/MemoryPolicyMode': 'MemoryPolicyModeType',
    '/definitions/MemoryPolicyFlag': 'MemoryPolicyFlagType',
    '/definitions/NetworkInterfacePriority': 'LinuxInterfacePriority',
    '/definitions/Rdma': 'LinuxRdma',
    '/definitions/NamespaceType': 'LinuxNamespaceType',
    '/definitions/NamespaceReference': 'LinuxNamespace',
    '/definitions/TimeOffsets': 'LinuxTimeOffset',
    '/definitions/SchedulerPolicy': 'LinuxSchedulerPolicy',
    '/definitions/SchedulerFlag': 'LinuxSchedulerFlag',
  },
  'state-schema.json': {
    '': 'State',
    '/properties/status': 'ContainerState',
  },
  'features-schema.json': {
    '': 'Features',
  },
  'features-linux.json': {
    '/linux': 'LinuxFeatures',
    '/linux/properties/cgroup': 'CgroupFeatures',
    '/linux/properties/seccomp': 'SeccompFeatures',
    '/linux/properties/apparmor': 'ApparmorFeatures',
    '/linux/properties/selinux': 'SelinuxFeatures',
    '/linux/properties/intelRdt': 'IntelRdtFeatures',
    '/linux/properties/mountExtensions': 'MountExtensionsFeatures',
    '/linux/properties/mountExtensions/properties/idmap': 'IDMapFeatures',
    '/linux/properties/netDevices': 'NetDevicesFeatures',
  },
};

/**
 * Values runc accepts beyond upstream's enums, keyed by file and JSON pointer. linux.rootfsPropagation: runc
 * takes the recursive forms too, and containerd's and CRI-O's CRI write rshared and rslave for hostPath mount
 * propagation.
 */
const ACCEPTED = {
  'defs-linux.json': { '/definitions/RootfsPropagation': ['rprivate', 'rshared', 'rslave', 'runbindable'] },
};

/**
 * Types-only refinements, merged into the node at a file and JSON pointer. Each must say no more than the
 * validator enforces.
 */
const TYPE_PATCHES = {
  // "pattern": "^[cbup]$"
  'defs-linux.json': { '/definitions/FileType': { enum: ['c', 'b', 'u', 'p'] } },
};

const TYPES_BANNER = `/* eslint-disable */
/**
 * OCI runtime-spec types: config.json (Spec), state (State) and features (Features).
 *
 * GENERATED by scripts/gen-schema.mjs from the JSON schema in schema/ (OCI runtime-spec v1.3.0).
 * Do not edit: change the generator and run \`npm run gen\`. \`node scripts/gen-schema.mjs --check\` tells stale.
 * Non-Linux platform sections (solaris, windows, vm, zos, freebsd) are left out of these types;
 * src/spec/generated/validators.cjs still validates them.
 */`;

const VALIDATORS_BANNER = `// GENERATED by scripts/gen-schema.mjs from the JSON schema in schema/ (OCI runtime-spec v1.3.0)
// with ajv's standalone code generator. Do not edit: change the generator and run \`npm run gen\`.
// Self-contained CommonJS (no require of ajv at run time). Exports validateConfig, validateState,
// validateFeatures, validateResources: (data) => boolean, with ajv error objects in fn.errors after a failure.
/* eslint-disable */
`;

// ---------------------------------------------------------------------------------------------------------------
// Loading

/** Upstream schema files, parsed, `$schema` removed and broken `$ref`s repaired. Sorted by file name. */
function loadSchemas() {
  const files = fs
    .readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const out = new Map();
  for (const f of files) {
    const doc = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, f), 'utf8'));
    delete doc.$schema;
    repairRefs(doc);
    for (const [pointer, values] of Object.entries(ACCEPTED[f] ?? {})) {
      const node = pointerGet(doc, pointer, f);
      node.enum = [...node.enum, ...values.filter((v) => !node.enum.includes(v))];
    }
    out.set(f, doc);
  }
  return out;
}

/** `#definitions/x` (upstream typo in defs.json) is not a JSON pointer: make it `#/definitions/x`. */
function repairRefs(node) {
  if (Array.isArray(node)) {
    node.forEach(repairRefs);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') node[k] = v.replace(/#(?=[^/])/, '#/');
      else repairRefs(v);
    }
  }
}

function pointerGet(doc, pointer, where) {
  let node = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!node || typeof node !== 'object' || !(key in node)) throw new Error(`gen-schema: no ${where}#${pointer}`);
    node = node[key];
  }
  return node;
}

// ---------------------------------------------------------------------------------------------------------------
// Validator

function buildValidators(schemas) {
  const ajv = new Ajv({
    // Stop at the first error: the caller reports one clearly named field.
    allErrors: false,
    // Strict everywhere except tuples: config-vm.json has a one-element `items` array without min/maxItems.
    strict: true,
    strictTuples: false,
    code: { source: true, esm: false, lines: true },
  });
  ajv.addVocabulary(PLATFORMS);
  for (const [file, doc] of schemas) {
    const copy = structuredClone(doc);
    if (file === 'config-linux.json') {
      // its $refs all name a file, so the subschema means the same on its own
      ajv.addSchema(copy.linux.properties.resources, RESOURCES_ID);
      copy.linux.properties.resources = { $ref: RESOURCES_ID };
    }
    ajv.addSchema(copy, file);
  }
  const code = standaloneCode(ajv, {
    validateConfig: 'config-schema.json',
    validateState: 'state-schema.json',
    validateFeatures: 'features-schema.json',
    validateResources: RESOURCES_ID,
  });
  const requires = code.match(/\brequire\s*\([^)]*\)/g);
  if (requires) {
    throw new Error(
      `gen-schema: the standalone validator needs run-time helpers (${[...new Set(requires)].join(', ')}); ` + 'inline them before committing it',
    );
  }
  const out = VALIDATORS_BANNER + code + (code.endsWith('\n') ? '' : '\n');
  selfTest(out);
  return out;
}

/** Load the module from an empty temporary directory (no node_modules anywhere above it) and run it once. */
function selfTest(code) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runt-gen-schema-'));
  try {
    const file = path.join(dir, 'validators.cjs');
    fs.writeFileSync(file, code);
    const v = createRequire(file)(file);
    const good = { ociVersion: '1.3.0', root: { path: 'rootfs' } };
    const bad = { ociVersion: '1.3.0', root: {} };
    const state = { ociVersion: '1.3.0', id: 'a', status: 'created', bundle: '/b' };
    const features = { ociVersionMin: '1.0.0', ociVersionMax: '1.3.0' };
    const resources = { memory: { limit: 1 << 20 } };
    const badResources = { memory: { limit: '1M' } };
    if (
      !v.validateConfig(good) ||
      v.validateConfig(bad) ||
      !v.validateState(state) ||
      !v.validateFeatures(features) ||
      !v.validateResources(resources) ||
      v.validateResources(badResources)
    ) {
      throw new Error('gen-schema: the standalone validator failed its self-test');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Types

/** One self-contained schema tree (no $ref; shared definitions are shared objects) for json-schema-to-typescript. */
function typesSchema(schemas) {
  const docs = new Map([...schemas].map(([f, d]) => [f, structuredClone(d)]));
  const config = docs.get('config-schema.json');
  for (const p of NON_LINUX) delete config.properties[p];
  for (const [file, titles] of Object.entries(TITLES)) {
    for (const [pointer, title] of Object.entries(titles)) pointerGet(docs.get(file), pointer, file).title = title;
  }
  for (const [file, patches] of Object.entries(TYPE_PATCHES)) {
    for (const [pointer, patch] of Object.entries(patches)) {
      Object.assign(pointerGet(docs.get(file), pointer, file), patch);
    }
  }

  const memo = new Map();
  const resolveRef = (ref, file) => {
    const hash = ref.indexOf('#');
    const target = hash < 0 ? ref : ref.slice(0, hash);
    const pointer = hash < 0 ? '' : ref.slice(hash + 1);
    const targetFile = target === '' ? file : target;
    if (!docs.has(targetFile)) throw new Error(`gen-schema: ${file}: $ref to unknown file ${ref}`);
    return convert(pointerGet(docs.get(targetFile), pointer, targetFile), targetFile);
  };
  const convert = (node, file) => {
    if (!node || typeof node !== 'object') return node;
    if (memo.has(node)) return memo.get(node);
    let out;
    if (typeof node.$ref === 'string') {
      const target = resolveRef(node.$ref, file);
      const { $ref, ...siblings } = node;
      // `{"type": "object", "$ref": ...}` and `{"description": ..., "$ref": ...}`: keep a named target as is,
      // copy an unnamed one so the description lands on the property.
      out = target.title || Object.keys(siblings).length === 0 ? target : { ...target, ...siblings };
    } else {
      out = {};
      for (const [k, v] of Object.entries(node)) {
        if (k === 'definitions') continue;
        if (k === 'properties' || k === 'patternProperties') {
          out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, convert(s, file)]));
        } else if (k === 'items' || k === 'additionalProperties' || k === 'not') {
          out[k] = Array.isArray(v) ? v.map((s) => convert(s, file)) : typeof v === 'object' ? convert(v, file) : v;
        } else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') {
          out[k] = v.map((s) => convert(s, file));
        } else {
          out[k] = structuredClone(v);
        }
      }
      out = simplify(out);
    }
    memo.set(node, out);
    return out;
  };

  const root = convert(config, 'config-schema.json');
  root.definitions = {
    State: convert(docs.get('state-schema.json'), 'state-schema.json'),
    Features: convert(docs.get('features-schema.json'), 'features-schema.json'),
  };
  assertNamed(root, '#');
  return root;
}

/** Shapes json-schema-to-typescript renders poorly, rewritten into equivalent plain ones. */
function simplify(s) {
  for (const k of ['anyOf', 'oneOf', 'allOf']) {
    if (s[k] && s[k].length === 1) {
      const {
        [k]: [only],
        ...rest
      } = s;
      const extra = Object.keys(rest).filter((x) => x !== 'type' && x !== 'description');
      if (extra.length === 0 && !rest.title) return only;
    }
  }
  if (s.allOf && s.allOf.every((p) => p.type === 'object' || p.properties)) {
    const { allOf, ...rest } = s;
    const merged = { ...rest, type: 'object', properties: { ...rest.properties } };
    const required = new Set(rest.required ?? []);
    for (const part of allOf) {
      Object.assign(merged.properties, part.properties);
      for (const r of part.required ?? []) required.add(r);
    }
    if (required.size) merged.required = [...required];
    return merged;
  }
  if (s.patternProperties && !s.properties && !s.additionalProperties) {
    const patterns = Object.values(s.patternProperties);
    if (patterns.length === 1) {
      const { patternProperties, ...rest } = s;
      return { ...rest, additionalProperties: patterns[0] };
    }
  }
  return s;
}

/** Every object with properties must have a name, so that no anonymous inline interface is generated. */
function assertNamed(node, where, seen = new Set()) {
  if (!node || typeof node !== 'object' || seen.has(node)) return;
  seen.add(node);
  if (Array.isArray(node)) return node.forEach((n, i) => assertNamed(n, `${where}/${i}`, seen));
  if (node.properties && !node.title) throw new Error(`gen-schema: inline object without a type name at ${where}`);
  for (const [k, v] of Object.entries(node)) assertNamed(v, `${where}/${k}`, seen);
}

async function buildTypes(schemas) {
  const ts = await compile(typesSchema(schemas), 'Spec', {
    additionalProperties: false,
    bannerComment: TYPES_BANNER,
    cwd: SCHEMA_DIR,
    declareExternallyReferenced: true,
    enableConstEnums: true,
    format: true,
    ignoreMinAndMaxItems: true,
    strictIndexSignatures: true,
    style: {
      bracketSpacing: true,
      endOfLine: 'lf',
      printWidth: 120,
      semi: true,
      singleQuote: true,
      tabWidth: 2,
      trailingComma: 'all',
      useTabs: false,
    },
    unknownAny: true,
    unreachableDefinitions: true,
  });
  if (/\[k: string\]: unknown/.test(ts)) throw new Error('gen-schema: types.ts has an open index signature');
  // State and Features ride along as definitions of the Spec schema; drop the note saying so.
  let notes = 0;
  const note = /\n \*\n \* This interface was referenced by `Spec`'s JSON-Schema\n \* via the `definition` "\w+"\./g;
  const out = ts.replace(note, () => {
    notes++;
    return '';
  });
  if (notes !== 2) throw new Error(`gen-schema: expected 2 definition notes in types.ts, found ${notes}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length) {
    console.error(`usage: node scripts/gen-schema.mjs [--check]  (unknown argument ${unknown[0]})`);
    process.exit(2);
  }
  const check = args.includes('--check');
  const schemas = loadSchemas();
  const outputs = [
    [TYPES_OUT, await buildTypes(schemas)],
    [VALIDATORS_OUT, buildValidators(schemas)],
  ];
  let stale = 0;
  for (const [rel, text] of outputs) {
    const file = path.join(ROOT, rel);
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (current === text) continue;
    if (check) {
      console.error(`${rel} is ${current === null ? 'missing' : 'stale'}: run \`npm run gen\``);
      stale++;
    } else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      console.log(`wrote ${rel}`);
    }
  }
  if (stale) process.exit(1);
  if (check) console.log('generated files are up to date');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
