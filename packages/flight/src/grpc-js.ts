/**
 * The @grpc/grpc-js instance this package is built on, re-exported for code that needs raw
 * gRPC next to Flight (benchmark baselines, tests) without a second copy of grpc-js.
 */
export * from '@grpc/grpc-js';
