// What the podman and containerd integration tests share: whether the engine can run here, a private dir per
// test run (swept when an earlier run was killed before its teardown), the shell helpers of this folder, and
// a terminal session driven through `script` (a client's -it / -t needs a real terminal on its side).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, REPO } from '../integration/harness';

/** Why the tests cannot run here (not root, no build, a missing binary), or false. */
export function engineSkip(binaries: string[]): string | false {
  const why = canRun();
  if (why) return why;
  const missing = binaries.filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  return missing.length ? `not installed: ${missing.join(', ')} (.ci/run installs them)` : false;
}

/**
 * Runs FUNCTION of test/engines/SCRIPT (sourced) with the private dir in VAR. Throws with the output when it
 * fails, unless `check` is false.
 */
export function engineShell(script: string, dirVar: string, dir: string, fn: string, check = true): string {
  const r = spawnSync('bash', ['-c', `set -eo pipefail; source "$1"; ${fn}`, 'bash', join(REPO, 'test/engines', script)], {
    encoding: 'utf8',
    env: { ...process.env, [dirVar]: dir },
    timeout: 60_000,
  });
  if (check && r.status !== 0) throw new Error(`${script} ${fn}: exit ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * /var/tmp/PREFIX-PID for this run. Dirs of earlier runs whose process is gone are cleaned first with
 * `clean` (their containers, daemon, mounts), since a tap timeout kills a run before its teardown.
 */
export function privateDir(prefix: string, clean: (dir: string) => void): string {
  for (const name of readdirSync('/var/tmp')) {
    const m = new RegExp(`^${prefix}-(\\d+)$`).exec(name);
    if (m && !existsSync(`/proc/${m[1]}`)) clean(join('/var/tmp', name));
  }
  return `/var/tmp/${prefix}-${process.pid}`;
}

/** A shell word. */
export function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The end of busybox sh's interactive prompt: `# ` and its cursor position query. */
export const SHELL_PROMPT = /# \x1b\[6n$/;

export interface Exchange {
  /** Wait until the output since the previous step's typing (\r removed) matches this... */
  await: RegExp;
  /** ...then type this (a line ends with \n; the terminal turns it into Enter). */
  type: string;
}

/**
 * Runs ARGV on a new terminal (`script -qec`), types each step's text once the output matches, and returns
 * the whole output (\r removed) and the exit status (`script -e` passes the command's on).
 */
export async function terminalSession(
  argv: string[],
  steps: Exchange[],
  env: NodeJS.ProcessEnv,
  ms = 20_000,
): Promise<{ output: string; status: number | null }> {
  const child = spawn('script', ['-qec', argv.map(quote).join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let output = '';
  let next = 0;
  let from = 0;
  const onData = (b: Buffer) => {
    output += b.toString().replace(/\r/g, '');
    while (next < steps.length && steps[next]!.await.test(output.slice(from))) {
      child.stdin.write(steps[next++]!.type);
      from = output.length;
    }
  };
  child.stdin.on('error', () => undefined); // the session ended before all was typed: reported below
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  clearTimeout(timer);
  child.stdin.destroy();
  if (next < steps.length) throw new Error(`terminal session: no ${steps[next]!.await} within ${ms} ms; output: ${JSON.stringify(output)}`);
  return { output, status };
}
