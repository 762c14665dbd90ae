// The shim's plan parser (native-shim/plan.c): each op belongs to a segment, and CLOSE_FDS divides the child's
// steps (none that needs the shim's host fds after it, none that looks up the image's paths before it). Plans
// the runtime never writes, sent to build/runt-shim as a runtime would: each is refused before any step runs.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { encodePlan } from '../../src/plan/encode';
import { PLAN_VERSION } from '../../src/plan';
import { step, type Step } from '../../src/plan/types';

const SHIM = join(__dirname, '../../build/runt-shim');
if (!existsSync(SHIM)) t.plan(0, 'build/runt-shim is missing: npm run build');

/** Sends the segments (the second after the shim's PID line) and returns what the shim wrote. */
async function shim(parent: Step[], child: Step[] = []): Promise<string> {
  const p = spawn(SHIM, ['3'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], env: {} });
  const sock = p.stdio[3] as Socket;
  let out = '';
  // the shim stops reading at the bad record and exits: the rest of what is sent may find it gone
  sock.on('error', () => undefined);
  sock.on('data', (b: Buffer) => {
    out += b.toString();
    if (/^PID \d+\n/.test(out) && child.length) sock.write(encodePlan(child));
  });
  sock.write(encodePlan(parent));
  await new Promise<void>((resolve) => sock.on('close', () => resolve()));
  return out;
}

const head = [step('RUNT-PLAN', [PLAN_VERSION]), step('MODE', ['detach'])];

t.test('an op in the other segment is a malformed plan', async (t) => {
  t.equal(
    await shim([...head, step('WAIT'), step('CLONE', [0]), step('END')]),
    "ERR 0 22 malformed plan: record 2: WAIT is a step of the child's segment, not the parent's\n",
  );
  t.match(
    await shim([...head, step('CLONE', [0]), step('END')], [step('MODE', ['wait']), step('END')]),
    /^PID \d+\nERR 0 22 malformed plan: record 4: MODE is a step of the parent's segment, not the child's\n$/,
  );
});

t.test("CLOSE_FDS divides the child's steps", async (t) => {
  const parent = [...head, step('CLONE', [0]), step('END')];
  t.match(
    await shim(parent, [step('CHDIR', ['/']), step('CLOSE_FDS', [3]), step('END')]),
    /ERR 0 22 malformed plan: record 4: CHDIR before CLOSE_FDS \(only a process without the shim's own fds may take it\)\n$/,
  );
  t.match(
    await shim(parent, [step('CLOSE_FDS', [3]), step('FIND_EXEC', ['sh', '/bin']), step('SECCOMP_LOAD', [0]), step('MASK', ['/x']), step('END')]),
    /ERR 0 22 malformed plan: record 7: MASK after CLOSE_FDS \(it needs an fd of the shim's that CLOSE_FDS closed\)\n$/,
  );
  t.match(
    await shim(parent, [step('SEND', ['OK']), step('CLOSE_FDS', [3]), step('CHDIR', ['/']), step('END')]),
    /^PID \d+\nOK\n$/,
    'a plan in order runs (and ends at its END)',
  );
});
