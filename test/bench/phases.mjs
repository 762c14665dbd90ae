// phases.mjs DIR: the table of bench.sh's `phases` case. DIR/calls has a line per call: the case, the runtime
// (runt, runc, floor), bash's clock before the exec and after the wait (µs), and for runt and the floor program
// the file its stamps went to: {origin: the engine's time origin (ms, epoch), stamps: [[phase, ms from origin]]}.
// Each phase's median over the case's calls; `whole` is bash's, from before the exec to the reaped exit.
import { readFileSync } from 'node:fs';

const dir = process.argv[2];
const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : Number.NaN;
};
const ms = (v) => (Number.isNaN(v) ? '–' : v.toFixed(1));

const cases = new Map();
for (const line of readFileSync(`${dir}/calls`, 'utf8').split('\n')) {
  if (!line) continue;
  const [name, runtime, t0, t1, file] = line.split(' ');
  const c = cases.get(name) ?? cases.set(name, { runc: [], phases: [] }).get(name);
  const whole = (Number(t1) - Number(t0)) / 1000;
  if (runtime === 'runc') {
    c.runc.push(whole);
    continue;
  }
  const { origin, stamps } = JSON.parse(readFileSync(file, 'utf8'));
  const at = Object.fromEntries(stamps);
  const clock = origin - Number(t0) / 1000;
  const loaded = at['command chunk'] ?? at.entry;
  c.phases.push({
    clock,
    entry: at.entry,
    fs: at['node:fs'] === undefined ? Number.NaN : at['node:fs'] - at['first line'],
    chunk: at['command chunk'] === undefined ? Number.NaN : at['command chunk'] - at.entry,
    command: at.command - loaded,
    exit: whole - (clock + at.command),
    whole,
  });
}

console.log('| call | exec → engine clock | → entry | → command chunk | → command done | → exit, reaped | whole | runc | × runc |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [name, { runc, phases }] of cases) {
  const col = (key) => ms(median(phases.map((p) => p[key])));
  const whole = median(phases.map((p) => p.whole));
  const base = median(runc);
  const ratio = Number.isNaN(base) ? '–' : (whole / base).toFixed(2);
  console.log(`| ${name} | ${col('clock')} | ${col('entry')} | ${col('chunk')} | ${col('command')} | ${col('exit')} | ${ms(whole)} | ${ms(base)} | ${ratio} |`);
}
const floor = cases.get('floor');
if (floor) console.log(`\nnode:fs alone (the floor program's require of it): ${ms(median(floor.phases.map((p) => p.fs)))} ms`);
