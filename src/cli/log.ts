// --log, --log-format and --debug. Lines are logrus-shaped, as runc writes them, because clients parse
// them: containerd reads the last JSON line of the log file as the error; `time` is RFC 3339.
import { closeSync, openSync, writeSync } from 'node:fs';

type Level = 'debug' | 'info' | 'warning' | 'error';

interface LogConfig {
  fd: number; // 2 (stderr) when no --log
  json: boolean;
  debug: boolean;
}

const config: LogConfig = { fd: 2, json: false, debug: false };

export function configureLog(file: string | undefined, format: string | undefined, debug: boolean): void {
  config.json = format === 'json';
  config.debug = debug;
  if (file) config.fd = openSync(file, 'a', 0o644);
}

export function closeLog(): void {
  if (config.fd !== 2) closeSync(config.fd);
  config.fd = 2;
}

export function formatLine(level: Level, msg: string, json: boolean, time = new Date()): string {
  const iso = time.toISOString();
  if (json) return `${JSON.stringify({ level, msg, time: iso })}\n`;
  return `time="${iso}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

function write(level: Level, msg: string): void {
  try {
    writeSync(config.fd, formatLine(level, msg, config.json));
  } catch {
    // a log that cannot be written must not turn into a second failure
  }
}

export const log = {
  /** `msg` may be a function, for a message that costs something to make: called only with --debug. */
  debug(msg: string | (() => string)): void {
    if (config.debug) write('debug', typeof msg === 'string' ? msg : msg());
  },
  info(msg: string): void {
    write('info', msg);
  },
  warn(msg: string): void {
    write('warning', msg);
  },
  /** The error that ends the command: to the log file (last line) and, as one plain line, to stderr. */
  fatal(msg: string): void {
    if (config.fd !== 2) write('error', msg);
    try {
      writeSync(2, config.fd === 2 && config.json ? formatLine('error', msg, true) : `runt: ${msg}\n`);
    } catch {
      // stderr closed: the exit status still tells
    }
  },
};
