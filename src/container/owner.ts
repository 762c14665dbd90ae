// The rule for runt's state dirs (the root, a container's dir; the root also keeps ffi-rs's binding): a directory
// of the caller's that no one else may write. A module of its own, with the root of this call: store.ts words
// the refusals, sys/binding.ts needs the verdict alone, and importing the store would split it from the CLI's
// chunk (a chunk more for every call).
import type { Stats } from 'node:fs';

/** What makes `st` not such a dir, or undefined when it is one. */
export function notOwned(st: Stats): string | undefined {
  const uid = process.geteuid!();
  if (!st.isDirectory()) return 'is not a directory';
  if (st.uid !== uid) return `is owned by uid ${st.uid}, not by uid ${uid} that runs runt: refusing to use it`;
  if (st.mode & 0o022) {
    const who = [st.mode & 0o020 ? 'its group' : '', st.mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ');
    return `is writable by ${who} (mode ${(st.mode & 0o7777).toString(8)}): refusing to use it`;
  }
  return undefined;
}

let rootOfThisCall: string | undefined;

/** Sets the state root of this call (main.ts): where sys/binding.ts keeps ffi-rs's binding, beside the records. */
export function setCallRoot(root: string): void {
  rootOfThisCall = root;
}

export function callRoot(): string | undefined {
  return rootOfThisCall;
}
