// The shim's plan parser (native-shim/plan.c): each record has the fields the op table states, each op belongs
// to a segment, and CLOSE_FDS divides the child's steps (none that needs the shim's host fds after it, none that
// looks up the image's paths before it). Plans the runtime never writes, sent to build/runt-shim as a runtime
// would: each is refused before any step runs.
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

t.test("each record has the fields the shim's op table states", async (t) => {
  const refused = (record: number, text: string) => new RegExp(`ERR 0 22 malformed plan: record ${record}: ${text}\\n$`);
  t.match(
    await shim([...head, step('JOIN', [5, 1, 'net']), step('END')]),
    refused(2, 'JOIN: 3 fields, expected 2 and groups of 2 \\(at least 1\\)'),
    'JOIN: pidfd, pid, then (namespace file, type) pairs',
  );
  t.match(
    await shim([...head, step('JOIN', [5, 1, 'net', 0x40000000, 'mnt', 0x20000]), step('MODE', ['x']), step('END')]),
    refused(3, 'MODE: field 1 must be detach or wait'),
    'a JOIN of two namespaces is well formed (the next record is the one refused)',
  );
  const parent = [...head, step('CLONE', [0]), step('END')];
  t.match(
    await shim(parent, [step('SECCOMP_RULE', [0x7fff0000, 'read', ...Array(28).fill(0)]), step('END')]),
    refused(4, 'SECCOMP_RULE: 30 fields, expected 2 and groups of 4 \\(0 to 6\\)'),
    'at most 6 argument conditions of 4 fields',
  );
  t.match(
    await shim(parent, [step('CLOSE_FDS', [3]), step('EXEC', [3, 'sh', '-c']), step('END')]),
    refused(5, 'EXEC: 3 fields, expected at least 4'),
    "EXEC's nargs counts the args that follow it",
  );
  t.match(
    await shim(parent, [step('HOOK', ['/bin/true', 0, 1, 'true', 'PATH=/bin', '{}']), step('SETSID', ['x']), step('END')]),
    refused(5, 'SETSID: 1 fields, expected 0'),
    'a HOOK with its args, env and state is well formed',
  );
});
