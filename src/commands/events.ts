// Being written (see the issue for `events`).
import { ContainerError } from '../container/store';

export function events(): number {
  throw new ContainerError('events: not implemented yet');
}
