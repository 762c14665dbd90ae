'use strict';
// Starting a runtime the way a client does. stdout and stderr go to files, never pipes: a container made by
// `create` keeps its runtime's stdio open, so a pipe would not see EOF until the container exits.
const { spawn } = require('node:child_process');
const { closeSync, openSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');

let seq = 0;

/**
 * Runs `cmd args` with stdin from /dev/null and stdout/stderr captured through files in `dir`.
 * `stdoutFile` keeps stdout in a file the caller owns (a container's output outlives the call).
 * Resolves { status, signal, stdout, stderr, ms }; a call that outlives `timeoutMs` is killed and
 * reported with status null and signal 'SIGKILL'.
 */
function call(cmd, args, { dir, env, timeoutMs = 30_000, stdoutFile } = {}) {
  const n = seq++;
  const outPath = stdoutFile ?? join(dir, `.out${n}`);
  const errPath = join(dir, `.err${n}`);
  const out = openSync(outPath, 'a+');
  const err = openSync(errPath, 'w+');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', out, err], env: env ?? { PATH: process.env.PATH } });
    } catch (e) {
      closeSync(out);
      closeSync(err);
      reject(e);
      return;
    }
    closeSync(out);
    closeSync(err);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      const result = {
        status,
        signal,
        stdout: readFileSync(outPath, 'utf8'),
        stderr: readFileSync(errPath, 'utf8'),
        ms: Date.now() - started,
      };
      if (!stdoutFile) rmSync(outPath, { force: true });
      rmSync(errPath, { force: true });
      resolve(result);
    });
  });
}

/** The last non-empty line of a runtime's stderr, without runc's logrus decoration. */
function lastLine(text) {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines[lines.length - 1] ?? '';
  const logrus = /msg="((?:[^"\\]|\\.)*)"/.exec(line);
  return logrus ? logrus[1].replace(/\\"/g, '"') : line;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { call, lastLine, sleep };
