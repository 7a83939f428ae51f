export const USAGE = `Usage: sediment <command> [options]

Commands:
  start      everything on one machine: writer (with collector) + acceptor, local
             store under ./data, OTLP on :4317 (gRPC) and :4318 (HTTP)
  acceptor   run an acceptor (OTLP in, Arrow Flight out to writers)
  writer     run a writer (Flight in, durable queue, collector → Parquet)
  query      run SQL (DuckDB) over the lake's committed Parquet: sediment query "SELECT …"
  inspect    sediment inspect queue | lake: queue depth and lag, lake files per partition

Run 'sediment <command> --help' for the options of a command. Every option can also
be given as an environment variable (see the configuration reference in README.md).

Exit codes: 0 success, 1 failure, 2 usage or configuration error.`;
