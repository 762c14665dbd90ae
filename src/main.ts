// runt's entry point: argv → command, and the one place errors become a message and an exit status.
import { appendFileSync, writeSync } from 'node:fs';
import { closeLog, configureLog, log } from './cli/log';
import { helpText, parseArgv, type Invocation, type Parsed } from './cli/parse';
import type { CommandName } from './cli/table';
import { UserError } from './errors';
import { runtimeContext } from './commands/context';
import { HANDLERS } from './commands';
import { OCI_VERSION } from './container/store';
import { setCallRoot } from './container/owner';
import type { RuntimeContext } from './lifecycle/context';

declare const RUNT_VERSION: string;
declare const RUNT_COMMIT: string;
/**
 * true in the timing build only (scripts/build.mjs --phases, for the `phases` case of test/bench/bench.sh), which
 * stamps where a call's time goes; false in production, where the bundler folds every stamp away.
 */
declare const RUNT_PHASES: boolean;

/** The timing build's stamps: a phase's name, and the engine's clock when it ended (ms from its time origin). */
const stamps: [string, number][] = [];
function stamp(phase: string): void {
  if (RUNT_PHASES) stamps.push([phase, performance.now()]);
}
// the first line of the entry module runs once the engine, node:fs and runt's entry chunk are loaded
stamp('entry');

/** Runs command N's adapter with N's options (the handler table's type pairs each name with its options). */
async function dispatch<N extends CommandName>(command: Invocation<N>, args: string[], ctx: RuntimeContext): Promise<number> {
  const handler = await HANDLERS[command.name]();
  stamp('command chunk');
  return handler(command.options, args, ctx);
}

function out(text: string): void {
  writeSync(1, text);
}

export async function main(argv: string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgv(argv);
  } catch (e) {
    log.fatal((e as Error).message);
    return 1;
  }
  const { global, command, help, args } = parsed;
  try {
    configureLog(global.log, global.logFormat, global.debug);
  } catch (e) {
    log.fatal(`--log: ${(e as Error).message}`);
    return 1;
  }
  try {
    if (global.version) {
      out(`runt version ${RUNT_VERSION}\nspec: ${OCI_VERSION}\ncommit: ${RUNT_COMMIT}\n`);
      return 0;
    }
    // runc's way: help on stdout and status 0, also with no command at all
    if (!command || global.help || help) {
      out(helpText(command?.spec));
      return 0;
    }
    const ctx = runtimeContext(global);
    setCallRoot(ctx.root);
    log.debug(`runt ${argv.join(' ')}`);
    return await dispatch(command, args, ctx);
  } catch (e) {
    const err = e as Error;
    // a user's mistake is one line; a stack only for --debug (it is runt's bug, not theirs)
    log.fatal(err.message);
    if (global.debug && !(err instanceof UserError)) log.debug(err.stack ?? '');
    return 1;
  } finally {
    closeLog();
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    stamp('command');
    if (RUNT_PHASES && process.env.RUNT_PHASES_FILE) {
      appendFileSync(process.env.RUNT_PHASES_FILE, `${JSON.stringify({ origin: performance.timeOrigin, stamps })}\n`);
    }
    process.exit(status);
  },
  (e) => {
    writeSync(2, `runt: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
