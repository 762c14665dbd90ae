// `pause` and `resume`.
import { pauseContainer, resumeContainer } from '../lifecycle/pause';
import type { Handler } from './context';

export const pause: Handler<'pause'> = (_opts, [id], ctx) => {
  pauseContainer(ctx, id!);
  return 0;
};

export const resume: Handler<'resume'> = (_opts, [id], ctx) => {
  resumeContainer(ctx, id!);
  return 0;
};
