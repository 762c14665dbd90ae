// Being written (see the cgroups issue).
import { ContainerError } from '../container/store';

export function pause(): number {
  throw new ContainerError('pause: not implemented yet');
}

export function resume(): number {
  throw new ContainerError('resume: not implemented yet');
}
