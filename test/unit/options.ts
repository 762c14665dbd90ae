// A command's typed options as the parser makes them from a command line, for the tests of what reads them.
import { parseArgv } from '../../src/cli/parse';
import type { CommandName, OptionsOf } from '../../src/cli/table';

export function optionsOf<N extends CommandName>(name: N, argv: string[]): OptionsOf<N> {
  const { command } = parseArgv([name, ...argv]);
  if (command?.name !== name) throw new Error(`not a ${name} command line: ${argv.join(' ')}`);
  return command.options as OptionsOf<N>;
}
