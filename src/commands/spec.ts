// `spec`: a default config.json in the bundle directory.
import { writeDefaultSpec } from '../lifecycle/spec';
import type { Handler } from './context';

export const spec: Handler<'spec'> = ({ bundle, rootless }) => {
  writeDefaultSpec(bundle, rootless);
  return 0;
};
