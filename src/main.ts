// runt's entry point: argv → command, and the one place errors become a message and an exit status.
import { writeSync } from 'node:fs';
import { closeLog, configureLog, log } from './cli/log';
import { helpText, parseArgv, type Parsed } from './cli/parse';
import { UserError } from './errors';
import { makeContext, type Context } from './commands/context';
import { OCI_VERSION } from './container/store';

declare const RUNT_VERSION: string;
declare const RUNT_COMMIT: string;

type Handler = (ctx: Context) => number | Promise<number>;

/**
 * Command name → handler. Modules load on use, so `state` never pays for what `create` needs: each dynamic
 * import is a split point of the build (scripts/build.mjs), whose chunks a call loads only when it imports them.
 */
const HANDLERS: Record<string, () => Promise<Handler>> = {
  create: async () => (await import('./commands/create')).create,
  start: async () => (await import('./commands/start')).start,
  state: async () => (await import('./commands/state')).state,
  kill: async () => (await import('./commands/kill')).kill,
  delete: async () => (await import('./commands/delete')).del,
  run: async () => (await import('./commands/run')).run,
  list: async () => (await import('./commands/list')).list,
  spec: async () => (await import('./commands/spec')).spec,
  features: async () => (await import('./commands/features')).featuresCommand,
  exec: async () => (await import('./commands/exec')).exec,
  update: async () => (await import('./commands/update')).update,
  pause: async () => (await import('./commands/pause')).pause,
  resume: async () => (await import('./commands/pause')).resume,
  ps: async () => (await import('./commands/ps')).ps,
  events: async () => (await import('./commands/events')).events,
  checkpoint: async () => (await import('./commands/checkpoint')).checkpoint,
  restore: async () => (await import('./commands/restore')).restore,
};

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
  const { global, command, flags, args } = parsed;
  try {
    configureLog(global.log as string | undefined, global['log-format'] as string | undefined, global.debug === true);
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
    if (!command || global.help || flags.help) {
      out(helpText(command));
      return 0;
    }
    const ctx = makeContext(global, flags, args);
    log.debug(`runt ${argv.join(' ')}`);
    return await (await HANDLERS[command.name]!())(ctx);
  } catch (e) {
    const err = e as Error;
    // a user's mistake is one line; a stack only for --debug (it is runt's bug, not theirs)
    log.fatal(err.message);
    if (global.debug === true && !(err instanceof UserError)) log.debug(err.stack ?? '');
    return 1;
  } finally {
    closeLog();
  }
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (e) => {
    writeSync(2, `runt: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
