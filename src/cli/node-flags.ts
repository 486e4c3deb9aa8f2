/**
 * The Node.js flags the server runs with. The `sipserver` launcher's `#!` line and `npm start`
 * pass them, and the benches and test servers start our server with them, so that what is
 * measured and tested is what runs. A test checks that these places (and the quickstart's command) agree.
 *
 * - `--use-largepages=silent` remaps Node's own machine code (V8's runtime, libuv, Node's
 *   bindings: about 24 MB) onto 2 MiB pages at start, where the kernel allows transparent huge
 *   pages (`/sys/kernel/mm/transparent_hugepage/enabled` `always` or `madvise`); elsewhere it
 *   does nothing, silently. A request then needs fewer TLB entries for that code, which matters
 *   after every wake-up of a server answering one datagram at a time: about 4 % less CPU per
 *   registration. About 10 MB more resident memory, no longer shared with other Node processes.
 * - `--no-memory-reducer` stops V8's full collections in quiet moments. With no message alive
 *   then, such a collection frees the hidden classes of per-message objects (held only through
 *   weak transitions), and V8 drops the optimised code of everything that handled them
 *   ("reason: weak objects" under `--trace-deopt`): the next load ran unoptimised code and
 *   recompiled about 30 functions (tens of ms of CPU). The heap can still shrink at the full
 *   collections that allocation triggers; it is no longer shrunk while idle.
 * - `--min-semi-space-size=16` keeps the young generation at 16 MB (without the memory reducer
 *   V8 left it at 1 MB here, a scavenge every 80 ms instead of every second under load). About
 *   30 MB more resident memory.
 *
 * The two V8 flags together: about 7.5 % less CPU per registration (part `ab` of the register
 * bench, two runs of 24 rounds with the sides swapped). See docs/benchmarks.md, session 8.
 */
export const SERVER_NODE_FLAGS: readonly string[] = [
  '--use-largepages=silent',
  '--no-memory-reducer',
  '--min-semi-space-size=16',
];
