// The options typed from the command table (src/cli/table.ts OptionsOf), checked with the TypeScript compiler
// itself: a misspelled option, or a command without its handler, does not compile; and every flag that has an
// effect is read somewhere in src/ (a flag declared and read nowhere fails here).
import t from 'tap';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { COMMANDS } from '../../src/cli/table';

const ROOT = resolve(__dirname, '../..');

function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT).options;
}

/** A program of `roots` plus files that exist only here (path → text), as if they were in test/unit/. */
function program(roots: string[], virtual: Record<string, string>): ts.Program {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const paths = new Map(Object.entries(virtual).map(([name, text]) => [join(ROOT, 'test/unit', name), text]));
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (file, language, ...rest) => {
    const text = paths.get(file);
    return text === undefined ? getSourceFile.call(host, file, language, ...rest) : ts.createSourceFile(file, text, language);
  };
  host.fileExists = (file) => paths.has(file) || fileExists.call(host, file);
  host.readFile = (file) => paths.get(file) ?? readFile.call(host, file);
  return ts.createProgram([...roots, ...paths.keys()], options, host);
}

t.test('a misspelled or foreign option does not compile; the right one does', async (t) => {
  const header = "import type { Handler } from '../../src/commands/context';\n";
  const snippets = {
    'misspelled.ts': `${header}export const h: Handler<'create'> = (opts) => (opts.noPivott ? 1 : 0);\n`,
    'foreign.ts': `${header}export const h: Handler<'delete'> = (opts) => (opts.noPivot ? 1 : 0);\n`,
    'wrong-type.ts': `${header}export const h: Handler<'create'> = (opts) => opts.bundle.length;\n`,
    'right.ts': `${header}export const h: Handler<'create'> = (opts) => (opts.noPivot ? opts.preserveFds : (opts.bundle?.length ?? 0));\n`,
    'unhandled.ts':
      "import { HANDLERS } from '../../src/commands';\nconst { kill: _kill, ...rest } = HANDLERS;\nexport const handlers: typeof HANDLERS = rest;\n",
  };
  const p = program([], snippets);
  const errors = (name: string) =>
    ts
      .getPreEmitDiagnostics(p, p.getSourceFile(join(ROOT, 'test/unit', name)))
      .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  const only = (name: string, error: RegExp, why: string) => {
    const found = errors(name);
    t.equal(found.length, 1, `${name}: one error`);
    t.match(found[0], error, why);
  };
  only('misspelled.ts', /^TS2551: Property 'noPivott' does not exist on type 'OptionsOf<"create">'. Did you mean 'noPivot'\?/, 'a misspelled option');
  only('foreign.ts', /^TS2339: Property 'noPivot' does not exist on type 'OptionsOf<"delete">'/, "another command's option");
  only('wrong-type.ts', /^TS18048: 'opts.bundle' is possibly 'undefined'/, 'a string flag may be absent');
  only('unhandled.ts', /^TS2741: Property 'kill' is missing/, 'a command without a handler');
  t.strictSame(errors('right.ts'), [], 'the right options compile');
});

/**
 * The options `source` reads: property accesses (`opts.force`), element accesses with literal keys (`opts[key]`,
 * key a union of names) and destructurings (`{ force } = opts`). A read on a command's own options type counts
 * for that command; one on another type, for each command whose options can be given as that type (a library
 * options type they are passed on as; not a type of optional properties only, which nearly anything can be).
 */
function readsOf(checker: ts.TypeChecker, source: ts.SourceFile, optionTypes: Map<string, ts.Type>, reads: Set<string>): void {
  const keysOf = (type: ts.Type): Set<string> => new Set(checker.getPropertiesOfType(type).map((p) => p.name));
  const allKeys = new Set([...optionTypes.values()].flatMap((type) => [...keysOf(type)]));
  const owners = [...optionTypes];
  const read = (receiver: ts.Type, names: string[]): void => {
    const target = checker.getNonNullableType(receiver);
    const own = owners.filter(([, type]) => type === target);
    const weak = checker.getPropertiesOfType(target).every((p) => (p.flags & ts.SymbolFlags.Optional) !== 0);
    const readers = own.length > 0 ? own : weak ? [] : owners.filter(([, type]) => checker.isTypeAssignableTo(type, target));
    for (const name of names) {
      if (!allKeys.has(name) || !checker.getPropertyOfType(target, name)) continue;
      for (const [owner, type] of readers) if (keysOf(type).has(name)) reads.add(`${owner}.${name}`);
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node)) read(checker.getTypeAtLocation(node.expression), [node.name.text]);
    else if (ts.isElementAccessExpression(node)) {
      const key = checker.getTypeAtLocation(node.argumentExpression);
      const literals = key.isUnion() ? key.types : [key];
      read(
        checker.getTypeAtLocation(node.expression),
        literals.flatMap((l) => (l.isStringLiteral() ? [l.value] : [])),
      );
    } else if (ts.isObjectBindingPattern(node)) {
      const names = node.elements.flatMap((e) => {
        if (e.dotDotDotToken) return [];
        const key = e.propertyName ?? e.name;
        return ts.isIdentifier(key) || ts.isStringLiteral(key) ? [key.text] : [];
      });
      read(checker.getTypeAtLocation(node), names);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

/** Every option that has an effect, as `command.key` (`global.key` for the global ones), read nowhere in src/ but `except`. */
function unreadOptions(except: string[] = []): string[] {
  const names = COMMANDS.map((c) => c.name);
  const declarations = `import type { GlobalOptions, OptionsOf } from '../../src/cli/table';\nexport declare const options: { global: GlobalOptions; ${names
    .map((n) => `'${n}': OptionsOf<'${n}'>`)
    .join('; ')} };\n`;
  const sources = ts.sys.readDirectory(join(ROOT, 'src'), ['.ts']).filter((f) => !except.some((e) => f.endsWith(e)));
  const p = program(sources, { 'options-declared.ts': declarations });
  const checker = p.getTypeChecker();
  const declared = p.getSourceFile(join(ROOT, 'test/unit/options-declared.ts'))!;
  const statement = declared.statements.find(ts.isVariableStatement)!;
  const all = checker.getTypeAtLocation(statement.declarationList.declarations[0]!.name);
  const optionTypes = new Map(checker.getPropertiesOfType(all).map((p) => [p.name, checker.getTypeOfSymbol(p)]));
  const reads = new Set<string>();
  for (const file of sources) readsOf(checker, p.getSourceFile(file)!, optionTypes, reads);
  const every = [...optionTypes].flatMap(([owner, type]) => checker.getPropertiesOfType(type).map((key) => `${owner}.${key.name}`));
  return every.filter((option) => !reads.has(option));
}

t.test('every option of the table is read somewhere in src/', async (t) => {
  t.strictSame(unreadOptions(), [], 'a flag that has an effect is read (or marked `ignored` in the table)');
  // ps reads a `format` of the same type as list's: that is no read of list's
  t.strictSame(unreadOptions(['src/commands/list.ts']), ['list.format', 'list.quiet'], "without list's adapter, its flags are read nowhere: the check sees it");
});
