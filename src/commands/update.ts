// Being written (see the issue for `update`).
import { ContainerError } from '../container/store';

export function update(): number {
  throw new ContainerError('update: not implemented yet');
}
