// What every operation of the lifecycle library takes besides its own options: the runtime's settings, which
// runt's CLI makes from its global flags (src/commands/context.ts).
export interface RuntimeContext {
  /** The state directory: one directory per container. */
  root: string;
  /** A container's cgroup is a transient systemd scope (linux.cgroupsPath "slice:prefix:name"), made over D-Bus. */
  systemdCgroup: boolean;
  /**
   * The runtime has no privileges outside the container's user namespace (id maps through newuidmap/newgidmap,
   * no cgroup unless one is delegated).
   */
  rootless: boolean;
  /** The CRIU binary for checkpoint and restore. */
  criu: string;
}
