export {
  type ArrowMessageInfo,
  MessageHeaderType,
  MetadataVersion,
  readArrowMessageInfo,
} from './arrow-message.js';
export {
  type DoPutOptions,
  FlightClient,
  type FlightClientOptions,
  type FlightLoadBalancing,
  type FlightTargetStats,
} from './client.js';
export type { FlightClientTlsOptions, FlightServerTlsOptions } from './credentials.js';
export * from './errors.js';
export {
  DEFAULT_HTTP2_RECEIVE_TUNING,
  type Http2ReceiveTuning,
  tuneGrpcServerHttp2,
} from './http2-tuning.js';
export {
  buildIpcStream,
  type IpcMessage,
  IpcStreamBuilder,
  splitIpcStream,
} from './ipc-framing.js';
export { type FlightLogger, silentFlightLogger, stderrFlightLogger } from './logger.js';
export {
  DescriptorType,
  decodeFlightData,
  decodeFlightDescriptor,
  decodePutResult,
  encodeFlightData,
  encodeFlightDescriptor,
  encodePutResult,
  type FlightData,
  FlightDataFrame,
  type FlightDataInit,
  type FlightDescriptor,
} from './proto-wire.js';
export { type AssembledPut, DoPutAssembler } from './put-assembler.js';
export {
  createFlightServer,
  type DoPutHandler,
  type DoPutReply,
  type DoPutRequest,
  FlightServer,
  type FlightServerOptions,
  type FlightServerStats,
} from './server.js';
export { FLIGHT_SERVICE_NAME, flightServiceDefinition } from './service.js';
export type { TargetBackoff } from './target-pool.js';
