// Typed wrapper around the generated standalone validators (src/spec/generated/validators.cjs, see scripts/gen-schema.mjs).
//
// The validators are loaded on first use (the bundle initialises a required module when it is first
// required), so importing this module costs nothing: only the commands that validate a config pay for them.
import type { Features, LinuxResources, Spec, State } from './generated/types';

/** The subset of an ajv ErrorObject that the generated code produces (messages on, verbose off). */
export interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

interface ValidateFunction {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}

interface Validators {
  validateConfig: ValidateFunction;
  validateState: ValidateFunction;
  validateFeatures: ValidateFunction;
  validateResources: ValidateFunction;
}

let validators: Validators | undefined;

/** The generated validator (~285 KB), loaded on first use. */
function load(): Validators {
  validators ??= require('./generated/validators.cjs') as Validators;
  return validators;
}

export type ConfigCheck = { ok: true; spec: Spec } | { ok: false; errors: string[] };
export type StateCheck = { ok: true; state: State } | { ok: false; errors: string[] };
export type FeaturesCheck = { ok: true; features: Features } | { ok: false; errors: string[] };
export type ResourcesCheck = { ok: true; resources: LinuxResources } | { ok: false; errors: string[] };

/**
 * Validates a parsed config.json against the OCI runtime-spec schema (all platforms).
 * Errors name the offending field as a path in the document, e.g. `process.args: must be array`.
 */
export function checkConfig(doc: unknown): ConfigCheck {
  const errors = run(load().validateConfig, doc);
  return errors ? { ok: false, errors } : { ok: true, spec: doc as Spec };
}

/** Validates a state document (the output of the `state` operation). */
export function checkState(doc: unknown): StateCheck {
  const errors = run(load().validateState, doc);
  return errors ? { ok: false, errors } : { ok: true, state: doc as State };
}

/** Validates a features document (the output of the `features` operation). */
export function checkFeatures(doc: unknown): FeaturesCheck {
  const errors = run(load().validateFeatures, doc);
  return errors ? { ok: false, errors } : { ok: true, features: doc as Features };
}

/** Validates a LinuxResources document (`update --resources`) as linux.resources of a config is validated. */
export function checkResources(doc: unknown): ResourcesCheck {
  const errors = run(load().validateResources, doc);
  return errors ? { ok: false, errors } : { ok: true, resources: doc as LinuxResources };
}

function run(validate: ValidateFunction, doc: unknown): string[] | undefined {
  if (validate(doc)) return undefined;
  return formatErrors(validate.errors ?? [], doc);
}

/** Keywords whose own error only says "some branch failed"; the branch errors reported before it say which. */
const COMBINATORS = new Set(['anyOf', 'oneOf', 'if']);

/**
 * Turns ajv errors into `path: message` lines. Combinator errors are collapsed to the most specific errors
 * (those about the deepest field); a missing required property is reported at its own path (`root.path: is
 * required`).
 */
export function formatErrors(errors: readonly SchemaError[], doc: unknown): string[] {
  if (errors.length === 0) return ['(root): does not match the schema'];
  const specific = errors.filter((e) => !COMBINATORS.has(e.keyword));
  const pool = (specific.length > 0 ? specific : errors).map((e) => describe(e, doc));
  const depth = Math.max(...pool.map((d) => d.segments.length));
  const lines = pool.filter((d) => d.segments.length === depth).map((d) => `${d.path}: ${d.message}`);
  return [...new Set(lines)];
}

interface Described {
  segments: string[];
  path: string;
  message: string;
}

function describe(e: SchemaError, doc: unknown): Described {
  const segments = e.instancePath === '' ? [] : e.instancePath.split('/').slice(1).map(unescapePointer);
  const p = e.params;
  let message = e.message ?? `fails ${e.keyword}`;
  switch (e.keyword) {
    case 'required':
      if (typeof p.missingProperty === 'string') {
        segments.push(p.missingProperty);
        message = 'is required';
      }
      break;
    case 'enum':
      if (Array.isArray(p.allowedValues)) {
        const allowed = p.allowedValues.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
        message = `${message} (${allowed.join(', ')})`;
      }
      break;
    case 'additionalProperties':
      if (typeof p.additionalProperty === 'string') {
        segments.push(p.additionalProperty);
        message = 'is not allowed';
      }
      break;
    case 'const':
      message = `must be ${JSON.stringify(p.allowedValue)}`;
      break;
  }
  return { segments, path: formatPath(segments, doc), message };
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `['linux', 'namespaces', '1', 'type']` → `linux.namespaces[1].type`; odd keys → `annotations["org.x"]`. */
export function formatPath(segments: readonly string[], doc: unknown): string {
  if (segments.length === 0) return '(root)';
  let out = '';
  let node: unknown = doc;
  for (const seg of segments) {
    if (Array.isArray(node) && /^(0|[1-9]\d*)$/.test(seg)) {
      out += `[${seg}]`;
      node = node[Number(seg)];
    } else {
      out += IDENTIFIER.test(seg) ? (out === '' ? seg : `.${seg}`) : `[${JSON.stringify(seg)}]`;
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}
