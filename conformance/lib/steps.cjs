'use strict';
// Steps many cases share: a container brought to a given status, and whether a host process is alive.
const { readFileSync } = require('node:fs');

const SLEEP = ['/bin/sleep', '1000'];

/** A created container running `args` (default: a long sleep): { b, id, s } with s its state. */
async function created(ctx, args = SLEEP, edit) {
  const b = ctx.bundle(args, edit);
  const id = ctx.id();
  await ctx.create(id, b);
  const s = await ctx.mustState(id);
  return { b, id, s };
}

async function running(ctx, args = SLEEP, edit) {
  const c = await created(ctx, args, edit);
  await ctx.start(c.id);
  c.s = await ctx.waitStatus(c.id, 'running');
  return c;
}

async function stopped(ctx, edit) {
  const c = await created(ctx, ['/bin/true'], edit);
  await ctx.start(c.id);
  c.s = await ctx.waitStatus(c.id, 'stopped');
  return c;
}

/** Whether `pid` is a live process (not gone, not a zombie). */
function alive(pid) {
  try {
    return !/^\S+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

module.exports = { SLEEP, created, running, stopped, alive };
