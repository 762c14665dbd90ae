// Being written (see the issue for `ps`).
import { ContainerError } from '../container/store';

export function ps(): number {
  throw new ContainerError('ps: not implemented yet');
}
