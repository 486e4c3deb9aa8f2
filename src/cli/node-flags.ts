/**
 * The Node.js flags the server runs with. The `sipserver` launcher's `#!` line and `npm start`
 * pass them, and the benches start our server with them, so that what is measured is what runs.
 * A test checks that the three places agree.
 *
 * `--use-largepages=silent` remaps Node's own machine code (V8's runtime, libuv, Node's
 * bindings: about 24 MB) onto 2 MiB pages at start, where the kernel allows transparent huge
 * pages (`/sys/kernel/mm/transparent_hugepage/enabled` `always` or `madvise`); elsewhere it does
 * nothing, silently. A request then needs far fewer TLB entries for that code, which matters
 * after every wake-up of a server answering one datagram at a time: about 4 % less CPU per
 * registration in the register bench's A/B comparisons (docs/benchmarks.md, session 8). It costs
 * about 10 MB of resident memory, no longer shared with other Node processes.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--use-largepages=silent'];
