'use strict';
// The report: a markdown table, clause → result per runtime side by side, with a note wherever a runtime
// does not pass (what it did instead); then the counts. The JSON form has everything.

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function shown(r) {
  if (r.status === 'pass') return 'pass';
  if (r.status === 'fail') return 'FAIL';
  if (r.status === 'error') return 'ERROR';
  return `n/a: ${r.detail}`;
}

function counts(cases, results, runtimes) {
  const out = {};
  for (const rt of runtimes) {
    const c = { pass: 0, fail: 0, 'n/a': 0, error: 0, total: cases.length };
    for (const k of cases) c[results[k.id][rt.name].status]++;
    out[rt.name] = c;
  }
  return out;
}

function markdown(cases, results, runtimes) {
  const lines = [];
  lines.push(`| clause | section | ${runtimes.map((r) => r.name).join(' | ')} | note |`);
  lines.push(`| --- | --- | ${runtimes.map(() => '---').join(' | ')} | --- |`);
  for (const c of cases) {
    const rs = runtimes.map((rt) => results[c.id][rt.name]);
    const notes = [];
    runtimes.forEach((rt, i) => {
      const r = rs[i];
      if ((r.status === 'fail' || r.status === 'error' || (r.status === 'n/a' && !r.probe)) && r.detail) notes.push(`${rt.name}: ${r.detail}`);
      for (const n of r.notes ?? []) notes.push(`${rt.name}: ${n}`);
    });
    const level = c.level === 'MUST' ? '' : ` (${c.level})`;
    lines.push(
      `| ${cell(`\`${c.id}\` ${c.clause}${level}`)} | ${cell(c.section)} | ${rs.map((r) => cell(shown(r))).join(' | ')} | ${cell(notes.join('; '))} |`,
    );
  }
  lines.push('');
  const total = counts(cases, results, runtimes);
  for (const rt of runtimes) {
    const c = total[rt.name];
    const why = rt.available ? '' : ` — cannot run here: ${rt.reason}`;
    lines.push(`- **${rt.name}** ${rt.version} (\`${rt.path}\`): ${c.pass} pass, ${c.fail} fail, ${c['n/a']} n/a, ${c.error} error of ${c.total}${why}`);
  }
  return lines.join('\n');
}

function json(cases, results, runtimes) {
  return {
    generated: new Date().toISOString(),
    runtimes: runtimes.map(({ name, path, version, available, reason }) => ({ name, path, version, available, reason })),
    counts: counts(cases, results, runtimes),
    cases: cases.map((c) => ({ id: c.id, section: c.section, level: c.level, clause: c.clause, results: results[c.id] })),
  };
}

module.exports = { markdown, json };
