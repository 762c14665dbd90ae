// `features`: what this runt supports, as JSON on stdout (features.md).
import { writeSync } from 'node:fs';
import { features as supported } from '../lifecycle/features';
import type { Handler } from './context';

export const features: Handler<'features'> = () => {
  writeSync(1, `${JSON.stringify(supported(), null, 2)}\n`);
  return 0;
};
