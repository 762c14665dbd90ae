// Being written (see the issue for `exec`).
import { ContainerError } from '../container/store';

export function exec(): number {
  throw new ContainerError('exec: not implemented yet');
}
