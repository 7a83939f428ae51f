/**
 * Node (V8) flags the writer process runs with, wherever it is started: `sediment start`
 * passes them when it spawns the writer, and the writer image's ENTRYPOINT carries the
 * same list (deploy/test/dockerfiles.test.ts checks that the two agree). A flag of the
 * same name given explicitly (in `node …` arguments before the script) wins. V8 does not
 * take this one from NODE_OPTIONS, hence the command line.
 *
 * `--initial-old-space-size=128`: the writer's own heap holds ≈ 20 MB, but every put moves
 * its bytes through several `ArrayBuffer`s (HTTP/2 chunks, the gRPC message, the IPC
 * stream, the queue batch, the batch read back by the collector), and V8 counts the
 * `ArrayBuffer` bytes allocated since the last mark-compact against the old generation's
 * limit. With V8's default limit (≈ 50–60 MB at that heap size) that started a
 * mark-compact ≈ 3 times a second at 60k spans/s, each with ≈ 20 ms of marking on the
 * event loop and more on V8's helper threads. At 128 MiB there were 27 mark-compacts in a
 * run instead of 131, and the writer's CPU per span fell from 12.6 to 10.3 µs, for ≈ 100
 * MiB more resident memory (BENCHMARKS.md, "End to end"). V8 flags hold for the whole
 * process, the Parquet encoder's thread included.
 */
export const WRITER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
