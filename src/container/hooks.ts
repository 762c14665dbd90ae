// config.md "POSIX-platform Hooks" run in the runtime namespace: prestart, createRuntime, poststart and
// poststop. (createContainer and startContainer run in the container: they are shim steps.) Each hook gets
// the state on stdin and only the env it names; the end of its output is kept for the error message.
import type { Hook } from '../spec/generated/types';
import { UserError } from '../errors';

export class HookError extends UserError {}

function envObject(env: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** How much of a hook's output (stdout and stderr together) is kept for the error message: its last bytes. */
export const HOOK_OUTPUT_KEPT = 8192;

/**
 * The last `limit` bytes of a stream, and how many came before them: a hook that writes without end costs
 * runt no more memory than that.
 */
class Tail {
  private kept = Buffer.alloc(0);
  private cut = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    // a chunk as long as the limit replaces what was kept without a copy of both: a flood costs one copy a chunk
    if (chunk.length >= this.limit) {
      this.cut += this.kept.length + chunk.length - this.limit;
      this.kept = Buffer.from(chunk.subarray(chunk.length - this.limit));
      return;
    }
    const all = Buffer.concat([this.kept, chunk]);
    const over = Math.max(0, all.length - this.limit);
    this.cut += over;
    this.kept = Buffer.from(all.subarray(over));
  }

  text(): string {
    const text = this.kept.toString().trim();
    return this.cut && text ? `[${this.cut} bytes of output before this cut] ${text}` : text;
  }
}

export function runHook(hook: Hook, field: string, state: string): Promise<void> {
  // node:child_process only where a hook runs: start and delete, which import this module, mostly have none
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const args = hook.args ?? [hook.path];
  return new Promise((resolve, reject) => {
    const child = spawn(hook.path, args.slice(1), {
      argv0: args[0] ?? hook.path,
      env: envObject(hook.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const output = new Tail(HOOK_OUTPUT_KEPT);
    child.stdout.on('data', (b: Buffer) => output.push(b));
    child.stderr.on('data', (b: Buffer) => output.push(b));
    let timedOut = false;
    const timer = hook.timeout
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, hook.timeout * 1000)
      : undefined;
    child.stdin.on('error', () => undefined); // a hook may exit without reading the state
    child.stdin.end(state);
    const fail = (why: string): void => {
      const text = output.text();
      reject(new HookError(`${field} (${hook.path}): ${why}${text ? `: ${text}` : ''}`));
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(e.code === 'ENOENT' ? 'no such file or directory' : e.message);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) fail(`timed out after ${hook.timeout}s`);
      else if (signal) fail(`killed by signal ${signal}`);
      else if (code !== 0) fail(`exited with status ${code}`);
      else resolve();
    });
  });
}

/**
 * Runs hooks in order. The first failure stops the rest and is thrown, unless `onFailure` is given: then each
 * failure goes to it and the remaining hooks still run (poststop: runtime.md "Lifecycle" step 13). The state
 * they get on stdin is made at the first hook: start and delete call this for every container, most often
 * with no hook, and a call pays the first JSON.stringify or array iterator it runs (an index loop here).
 */
export async function runHooks(hooks: Hook[] | undefined, name: string, state: () => string, onFailure?: (e: Error) => void): Promise<void> {
  let stateJson: string | undefined;
  for (let i = 0; hooks && i < hooks.length; i++) {
    stateJson ??= state();
    try {
      await runHook(hooks[i]!, `hooks.${name}[${i}]`, stateJson);
    } catch (e) {
      if (!onFailure) throw e;
      onFailure(e as Error);
    }
  }
}
