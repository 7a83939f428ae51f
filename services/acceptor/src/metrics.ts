import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The acceptor's Prometheus metrics (names are documented in the README's Operations section). */
export class AcceptorMetrics {
  readonly requests: Counter<'signal' | 'protocol' | 'status'>;
  readonly rows: Counter<'signal'>;
  readonly rejectedItems: Counter<'signal'>;
  readonly receivedBytes: Counter<'signal' | 'protocol'>;
  readonly decodedBytes: Counter<'signal' | 'protocol'>;
  readonly duration: Histogram<'signal' | 'protocol'>;
  readonly writerPuts: Counter<'outcome'>;
  readonly inflightBytes: Gauge;

  constructor(registry: Registry, inflight: () => number) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'sediment_acceptor_requests_total',
      help: 'OTLP export requests by signal, protocol (grpc, http) and reply status (gRPC code name or HTTP status).',
      labelNames: ['signal', 'protocol', 'status'],
      registers,
    });
    this.rows = new Counter({
      name: 'sediment_acceptor_rows_total',
      help: 'Spans, log records and data points acked durable, by signal.',
      labelNames: ['signal'],
      registers,
    });
    this.rejectedItems = new Counter({
      name: 'sediment_acceptor_rejected_items_total',
      help: 'Individually invalid items dropped and reported in partial_success, by signal.',
      labelNames: ['signal'],
      registers,
    });
    this.receivedBytes = new Counter({
      name: 'sediment_acceptor_received_bytes_total',
      help: 'Request body bytes as received on the wire (compressed). gRPC: the message size after grpc-js decompressed it (grpc-js does not expose the compressed size).',
      labelNames: ['signal', 'protocol'],
      registers,
    });
    this.decodedBytes = new Counter({
      name: 'sediment_acceptor_decoded_bytes_total',
      help: 'Request body bytes after decompression.',
      labelNames: ['signal', 'protocol'],
      registers,
    });
    this.duration = new Histogram({
      name: 'sediment_acceptor_request_duration_seconds',
      help: 'From a complete request body to the reply (includes waiting for the durable ack).',
      labelNames: ['signal', 'protocol'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.writerPuts = new Counter({
      name: 'sediment_acceptor_writer_puts_total',
      help: 'Flight DoPuts to writers by outcome (ok, unavailable, rejected, error).',
      labelNames: ['outcome'],
      registers,
    });
    this.inflightBytes = new Gauge({
      name: 'sediment_acceptor_inflight_bytes',
      help: 'Request bytes held while waiting for durable acks (bounded by SEDIMENT_MAX_INFLIGHT_BYTES).',
      registers,
      collect() {
        this.set(inflight());
      },
    });
  }
}
