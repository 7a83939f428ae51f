/**
 * protobufjs types built from OUR proto/arrow/flight/Flight.proto: the independent codec the
 * hand-written one is checked against.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const flightProtoPath = fileURLToPath(
  new URL('../../../proto/arrow/flight/Flight.proto', import.meta.url),
);

export function loadFlightProto(): {
  root: protobuf.Root;
  FlightData: protobuf.Type;
  FlightDescriptor: protobuf.Type;
  PutResult: protobuf.Type;
  service: protobuf.Service;
} {
  const root = new protobuf.Root();
  root.loadSync(flightProtoPath, { keepCase: true });
  root.resolveAll();
  return {
    root,
    FlightData: root.lookupType('arrow.flight.protocol.FlightData'),
    FlightDescriptor: root.lookupType('arrow.flight.protocol.FlightDescriptor'),
    PutResult: root.lookupType('arrow.flight.protocol.PutResult'),
    service: root.lookupService('arrow.flight.protocol.FlightService'),
  };
}
