// `kill ID [SIGNAL]`: the signal as runc spells it, to the container's init or (--all) every process of it.
import { isDigits, UsageError } from '../cli/parse';
import { killContainer } from '../lifecycle/kill';
import { SIGNALS } from '../sys/signals';
import type { Handler } from './context';

/** A signal as runc takes it: KILL, SIGKILL or 9. */
export function parseSignal(text: string): number {
  if (isDigits(text)) {
    const n = Number(text);
    if (n > 0 && n <= 64) return n;
  } else {
    const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = SIGNALS[name];
    if (n !== undefined) return n;
  }
  throw new UsageError(`unknown signal "${text}"`);
}

export const kill: Handler<'kill'> = (opts, [id, signal], ctx) => {
  killContainer(ctx, id!, parseSignal(signal ?? 'TERM'), opts);
  return 0;
};
