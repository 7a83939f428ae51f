/**
 * Node (V8) flags the writer and acceptor processes run with, wherever they are started:
 * `sediment start` gives them to the processes it spawns ({@link serviceNodeArgs}), and
 * both images' ENTRYPOINT carries the same list (deploy/test/dockerfiles.test.ts checks
 * that they agree). V8 does not take these from NODE_OPTIONS, hence the command line.
 *
 * `--initial-old-space-size=128`: each service's event-loop heap holds ≈ 20 MB, but every
 * request or put moves its bytes through several `ArrayBuffer`s there (HTTP/2 chunks, the
 * gRPC message, the Arrow IPC stream, grpc-js's framed copy of each FlightData; in the
 * writer the queue batch and the batch read back by the collector), and V8 counts the
 * `ArrayBuffer` bytes allocated since the last mark-compact against the old generation's
 * limit. With V8's default limit (≈ 50–60 MB at that heap size) each service
 * mark-compacted 2–3 times a second, each time with ≈ 20 ms of marking on the event loop
 * and more on V8's helper threads. At 128 MiB (BENCHMARKS.md, "End to end"):
 * - writer, paced at 60k spans/s: 27 mark-compacts in a run instead of 131, 10.3 µs of CPU
 *   per span instead of 12.6, ≈ 100 MiB more resident memory;
 * - acceptor, paced at 50k: 19–20 instead of 93–99, 13.9–14.1 µs instead of 16.3–17.5;
 *   272–275 MiB at saturation against 256–259 (its target is 300).
 * V8 flags hold for the whole process, worker threads included.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

/**
 * Node arguments of a service process started from this one: this process's own
 * (`execArgv`: `--node-args` in bench/e2e, `--cpu-prof`, a loader), then
 * {@link SERVICE_NODE_FLAGS} except those whose name (`--name` before any `=`, `_` and `-`
 * alike) was given explicitly, which win.
 */
export function serviceNodeArgs(execArgv: readonly string[]): string[] {
  const name = (flag: string) => flag.split('=', 1)[0]!.replace(/_/g, '-');
  const given = new Set(execArgv.map(name));
  return [...execArgv, ...SERVICE_NODE_FLAGS.filter((f) => !given.has(name(f)))];
}
