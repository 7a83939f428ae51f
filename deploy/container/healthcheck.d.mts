/** Types of healthcheck.mjs (a plain-JS script so the images run it without a build). */
export declare const DEFAULTS: Readonly<{
  SEDIMENT_HTTP_PORT: number;
  SEDIMENT_WRITER_ADMIN_PORT: number;
}>;
export declare function healthUrl(
  role: string,
  env: Readonly<Record<string, string | undefined>>,
  path?: string,
): string;
export declare function probe(
  url: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }>;
