// process.terminal (create, run, exec): the shim's TERMINAL step makes the pty in the container and sends its
// master over a socket a parent step prepared: the client's --console-socket (CONSOLE_CONNECT), or a
// socketpair whose other end the shim's waiting parent relays to runt's own terminal (CONSOLE_RELAY).
import type { Process } from '../spec/generated/types';
import { ConfigError, step, type Step } from './types';

export interface ConsoleChoice {
  consoleSocket?: string;
  /** runt stays in the foreground with a terminal as its stdin: a terminal without a socket is relayed to it. */
  consoleRelay?: boolean;
}

/** The pty's master goes to runt's own terminal, through the shim's waiting parent. */
export function relaysTerminal(proc: Process, ctx: ConsoleChoice): boolean {
  return proc.terminal === true && !ctx.consoleSocket && ctx.consoleRelay === true;
}

/** The parent's step that gives TERMINAL its socket, or none without a terminal. */
export function consoleSteps(proc: Process, ctx: ConsoleChoice): Step[] {
  if (!proc.terminal) {
    if (ctx.consoleSocket) throw new ConfigError('--console-socket: given but process.terminal is false');
    return [];
  }
  if (ctx.consoleSocket) return [step('CONSOLE_CONNECT', [ctx.consoleSocket], '--console-socket')];
  if (relaysTerminal(proc, ctx)) return [step('CONSOLE_RELAY', [], 'process.terminal')];
  throw new ConfigError('process.terminal: a terminal needs --console-socket (or runt in the foreground, with a terminal as its stdin)');
}

/**
 * The child's step that makes the pty. `bindConsole`: the container's /dev/console becomes the pty (its init's
 * terminal); a process joining a running container leaves /dev/console alone.
 */
export function terminalSteps(proc: Process, bindConsole: boolean): Step[] {
  if (!proc.terminal) return [];
  const size = [proc.consoleSize?.height ?? 0, proc.consoleSize?.width ?? 0];
  return [step('TERMINAL', bindConsole ? size : [...size, 0], 'process.terminal')];
}
