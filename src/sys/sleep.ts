// A blocking sleep: runt's calls are short-lived and synchronous, and the few waits (a process to die, a
// cgroup to empty or freeze, the shim to reach the fifo) poll the kernel's state.
const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepMs(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
