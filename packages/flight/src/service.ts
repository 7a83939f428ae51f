/**
 * The arrow.flight.protocol.FlightService definition for grpc-js with pass-through
 * serializers: grpc-js hands us the raw message bytes and sends the bytes we give it, so
 * the hand-written codec in proto-wire.ts is the only (de)serializer on the data path.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

export const FLIGHT_SERVICE_NAME = 'arrow.flight.protocol.FlightService';

const identity = (b: Buffer): Buffer => b;

function method(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
): MethodDefinition<Buffer, Buffer> {
  return {
    path: `/${FLIGHT_SERVICE_NAME}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: name[0]!.toLowerCase() + name.slice(1),
  };
}

/** Every RPC of FlightService (Flight.proto), streaming shape as in the specification. */
export const flightServiceDefinition = {
  Handshake: method('Handshake', true, true),
  ListFlights: method('ListFlights', false, true),
  GetFlightInfo: method('GetFlightInfo', false, false),
  PollFlightInfo: method('PollFlightInfo', false, false),
  GetSchema: method('GetSchema', false, false),
  DoGet: method('DoGet', false, true),
  DoPut: method('DoPut', true, true),
  DoExchange: method('DoExchange', true, true),
  DoAction: method('DoAction', false, true),
  ListActions: method('ListActions', false, true),
} satisfies ServiceDefinition;

export type FlightMethodName = keyof typeof flightServiceDefinition;
