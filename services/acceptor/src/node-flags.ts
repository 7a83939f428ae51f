/**
 * Node (V8) flags the acceptor process runs with, wherever it is started: `sediment start`
 * passes them when it spawns the acceptor, and the acceptor image's ENTRYPOINT carries the
 * same list (deploy/test/dockerfiles.test.ts checks that the two agree). A flag of the
 * same name given explicitly (in `node …` arguments before the script) wins. V8 does not
 * take this one from NODE_OPTIONS, hence the command line.
 *
 * `--initial-old-space-size=128`: the event loop's heap holds ≈ 20 MB, but each request
 * passes through `ArrayBuffer`s there (HTTP/2 chunks, the gRPC message, the Arrow IPC
 * stream back from its decode thread, grpc-js's framed copies of each FlightData), and V8
 * counts their bytes against the old generation's limit: with V8's default limit it
 * mark-compacted ≈ 2 times a second. At 128 MiB, paced at 50k spans/s: 19–20
 * mark-compacts per run instead of 93–99, and 13.9–14.1 µs of acceptor CPU per span
 * instead of 16.3–17.5; resident memory at saturation 272–275 MiB, against 256–259
 * (the target is 300). V8 flags hold for the whole process, decode threads included.
 * BENCHMARKS.md, "End to end".
 */
export const ACCEPTOR_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
