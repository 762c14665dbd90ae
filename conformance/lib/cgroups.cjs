'use strict';
// Host-side cgroup helpers: where a process's cgroup files are (v1, v2 or hybrid), and removing the cgroup
// dirs a case named, killing what is left in them first.
const { existsSync, readFileSync, readdirSync, rmdirSync } = require('node:fs');
const { join } = require('node:path');

/** Every cgroup mount of the host: its dir, version and controllers. */
function cgroupMounts() {
  const mounts = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const dir = line.split(' ')[4];
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (fstype === 'cgroup') mounts.push({ dir, v2: false, controllers: superOpts.split(',') });
    else if (fstype === 'cgroup2') {
      let controllers = [];
      try {
        controllers = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
      } catch {
        // an unreadable cgroup2 mount has no controllers we can use
      }
      mounts.push({ dir, v2: true, controllers });
    }
  }
  return mounts;
}

/** The path of `file` in the cgroup of `pid` that holds `controller`, or null when no mount has it. */
function cgroupFile(pid, controller, v1File, v2File) {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [h, ctrls, ...rest] = l.split(':');
      return { h, ctrls: ctrls.split(','), path: rest.join(':') };
    });
  for (const m of cgroupMounts()) {
    if (!m.controllers.includes(controller)) continue;
    const line = m.v2 ? lines.find((l) => l.h === '0') : lines.find((l) => l.ctrls.includes(controller));
    if (line) return join(m.dir, line.path, m.v2 ? v2File : v1File);
  }
  return null;
}

/** The cgroup path of `pid` for `controller` as /proc/PID/cgroup shows it (relative to the mount). */
function cgroupPathOf(pid, controller) {
  const mounts = cgroupMounts();
  const v2Only = !mounts.some((m) => !m.v2 && m.controllers.includes(controller));
  for (const l of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [h, ctrls, ...rest] = l.split(':');
    if (v2Only ? h === '0' : ctrls.split(',').includes(controller)) return rest.join(':');
  }
  return null;
}

/** Every dir named `rel` under a cgroup mount. */
function cgroupDirs(rel) {
  return cgroupMounts()
    .map((m) => join(m.dir, rel))
    .filter((d) => existsSync(d));
}

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Removes `rel` (and the cgroups below it) under every cgroup mount; processes still in them are killed first. */
function removeCgroup(rel) {
  for (const dir of cgroupDirs(rel)) {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(rel, e.name));
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        rmdirSync(dir);
        break;
      } catch (e) {
        if (e.code === 'ENOENT') break;
        if (e.code !== 'EBUSY') throw e;
        let pids = [];
        try {
          pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
        } catch {
          // gone meanwhile
        }
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
        pause(50);
      }
    }
  }
}

module.exports = { cgroupMounts, cgroupFile, cgroupPathOf, cgroupDirs, removeCgroup };
