/** Types of send-otlp.mjs (a plain-JS script so the images run it without a build). */
export interface LoadOptions {
  endpoint: string;
  rounds: number;
  intervalMs: number;
  batch: number;
  token: string | undefined;
  retries: number;
  timeoutMs: number;
  help: boolean;
}
export interface SendResult {
  ok: boolean;
  status: number;
  rejected: number;
  attempts: number;
  error?: string;
}
export interface SignalCounts {
  requests: number;
  ok: number;
  failed: number;
  acked: number;
  rejected: number;
}
export interface LoadSummary {
  endpoint: string;
  rounds: number;
  seconds: number;
  ok: boolean;
  traces: SignalCounts;
  metrics: SignalCounts;
  logs: SignalCounts;
}
/** An OTLP/JSON request body (the proto3 JSON mapping) and the items it carries. */
// biome-ignore lint/suspicious/noExplicitAny: OTLP/JSON bodies are plain JSON
export type OtlpRequest = { body: any; items: number };

export declare function parseDuration(raw: string, name: string): number;
export declare function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): LoadOptions;
export declare function tracesRequest(batch: number, round: number): OtlpRequest;
export declare function metricsRequest(batch: number, round: number): OtlpRequest;
export declare function logsRequest(batch: number, round: number): OtlpRequest;
export declare function send(
  url: string,
  body: unknown,
  options: LoadOptions,
  rejectedField: string,
  stop?: AbortSignal,
): Promise<SendResult>;
export declare function run(
  options: LoadOptions,
  hooks?: { stop?: AbortSignal; log?: (message: string) => void },
): Promise<LoadSummary>;
