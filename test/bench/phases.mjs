// phases.mjs DIR: the table of bench.sh's `phases` case. DIR/calls has a line per call: the command, who made it
// (runt: the timing build; runc; floor: the floor program, taken in each command's rounds), bash's clock before the
// exec and after the wait (µs), the exit status, and the file the stamps went to (runt and the floor program):
// {origin: the engine's time origin (ms, epoch), stamps: [[phase, ms from origin]]}. Each figure is a median over
// the command's calls that succeeded and left their stamps; `whole` is bash's, from before the exec to the reaped
// exit. The floor's `whole` is taken in the same rounds as the command's, so `floor × runc` is the least the
// command's ratio could be if runt did nothing but start.
import { existsSync, readFileSync } from 'node:fs';

const dir = process.argv[2];
const median = (values) => {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : Number.NaN;
};
const ms = (v) => (Number.isNaN(v) ? '–' : v.toFixed(1));
const ratio = (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? '–' : (a / b).toFixed(2));

/** A stamped call's phases (ms), or undefined when its stamps are missing. */
function phasesOf(file, t0, whole) {
  if (!existsSync(file)) return undefined;
  const { origin, stamps } = JSON.parse(readFileSync(file, 'utf8'));
  const at = Object.fromEntries(stamps);
  if (at.entry === undefined || at.command === undefined) return undefined;
  const clock = origin - t0 / 1000;
  const loaded = at['command chunk'] ?? at.entry;
  return {
    clock,
    entry: at.entry,
    fs: at['node:fs'] === undefined ? Number.NaN : at['node:fs'] - at['first line'],
    chunk: at['command chunk'] === undefined ? Number.NaN : at['command chunk'] - at.entry,
    command: at.command - loaded,
    exit: whole - (clock + at.command),
    whole,
  };
}

const commands = new Map();
const floorPhases = [];
const failed = [];
for (const line of readFileSync(`${dir}/calls`, 'utf8').split('\n')) {
  if (!line) continue;
  const [command, who, t0, t1, status, file] = line.split(' ');
  const c = commands.get(command) ?? commands.set(command, { runt: [], runc: [], floor: [] }).get(command);
  const whole = (Number(t1) - Number(t0)) / 1000;
  if (status !== '0') {
    failed.push(`${who} ${command}`);
    continue;
  }
  if (who === 'runc') {
    c.runc.push(whole);
    continue;
  }
  const p = phasesOf(file, Number(t0), whole);
  if (!p) {
    failed.push(`${who} ${command} (no stamps)`);
    continue;
  }
  c[who].push(p);
  if (who === 'floor') floorPhases.push(p);
}

const row = (name, phases, runc, floor) => {
  const col = (key) => ms(median(phases.map((p) => p[key])));
  const whole = median(phases.map((p) => p.whole));
  const r = median(runc);
  const f = median(floor.map((p) => p.whole));
  return `| ${name} | ${col('clock')} | ${col('entry')} | ${col('chunk')} | ${col('command')} | ${col('exit')} | ${ms(whole)} | ${ms(r)} | ${ratio(whole, r)} | ${ms(f)} | ${ratio(f, r)} |`;
};
console.log('| call | exec → engine clock | → entry | → command chunk | → command done | → exit, reaped | whole | runc | × runc | floor | floor × runc |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
console.log(row('floor program (every round)', floorPhases, [], []));
for (const [name, c] of commands) console.log(row(name, c.runt, c.runc, c.floor));
console.log(`\nnode:fs alone (the floor program's require of it): ${ms(median(floorPhases.map((p) => p.fs)))} ms`);
if (failed.length) console.log(`left out, failed: ${failed.join(', ')}`);
