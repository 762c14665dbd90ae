// A blocking sleep: runt's calls are short-lived and synchronous, and the few waits (a process to die, a
// cgroup to empty or freeze, the shim to reach the fifo) poll the kernel's state.
let cell: Int32Array | undefined; // made at the first sleep: most calls never sleep, and a SharedArrayBuffer costs ~13 page faults

export function sleepMs(ms: number): void {
  cell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(cell, 0, 0, ms);
}
