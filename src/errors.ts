// What a user's input or a container's state caused, as opposed to a bug in runt: main prints its message
// alone, and keeps stack traces (with --debug) for everything else.
export class UserError extends Error {}
