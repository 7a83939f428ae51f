/**
 * The receiving side of one DoPut, independent of gRPC: feed it each FlightData message as
 * it arrives, then ask for the reassembled put.
 *
 * Rules (docs/004-flight.md):
 * - the first FlightData must carry a FlightDescriptor of type PATH with a non-empty path;
 *   descriptors on later messages are ignored (the spec makes them meaningful only first);
 * - each message with a `data_header` is one Arrow IPC message (Schema first, once; then
 *   dictionary and record batches) and its `data_body` must be exactly `bodyLength` bytes;
 * - a message without `data_header` carries only `app_metadata` (and must have no body);
 * - the request identity is the first non-empty `app_metadata` of the stream;
 * - the reassembled stream may not exceed `maxPutBytes`.
 */
import { FlightInvalidArgumentError } from './errors.js';
import { IpcStreamBuilder } from './ipc-framing.js';
import { DescriptorType, decodeFlightData } from './proto-wire.js';

export interface AssembledPut {
  /** FlightDescriptor.path of the first message. */
  path: string[];
  /** The Arrow IPC stream: continuation-framed messages, then the end-of-stream marker. */
  ipc: Uint8Array;
  /** The first non-empty app_metadata of the stream (a copy), if any. */
  appMetadata: Uint8Array | undefined;
  /** Number of FlightData messages received. */
  flightDataCount: number;
  /** Number of record batch messages in `ipc`. */
  recordBatchCount: number;
}

export class DoPutAssembler {
  readonly #builder: IpcStreamBuilder;
  #path: string[] | undefined;
  #appMetadata: Uint8Array | undefined;
  #count = 0;

  constructor(maxPutBytes = Number.POSITIVE_INFINITY) {
    this.#builder = new IpcStreamBuilder(maxPutBytes);
  }

  /** Descriptor path once the first message was accepted. */
  get path(): string[] | undefined {
    return this.#path;
  }

  /** Bytes of the IPC stream so far. */
  get byteLength(): number {
    return this.#builder.byteLength;
  }

  /**
   * Takes one serialized FlightData. Its header and body are kept as views, so `message`
   * must not be reused by the caller. Throws FlightInvalidArgumentError or
   * FlightResourceExhaustedError; after a throw the put must be abandoned.
   */
  push(message: Uint8Array): void {
    const fd = decodeFlightData(message);
    if (this.#count === 0) {
      const d = fd.descriptor;
      if (d === undefined) {
        throw new FlightInvalidArgumentError(
          'the first FlightData of a DoPut must carry a FlightDescriptor',
        );
      }
      if (d.type !== DescriptorType.PATH) {
        throw new FlightInvalidArgumentError(
          `FlightDescriptor type ${d.type} is not supported; use PATH with the table name`,
        );
      }
      if (d.path.length === 0 || d.path.some((p) => p.length === 0)) {
        throw new FlightInvalidArgumentError(
          'FlightDescriptor path must be non-empty and contain no empty elements',
        );
      }
      this.#path = d.path;
    }
    this.#count++;
    if (this.#appMetadata === undefined && fd.appMetadata.length > 0) {
      this.#appMetadata = Uint8Array.prototype.slice.call(fd.appMetadata);
    }
    if (fd.dataHeader.length === 0) {
      if (fd.dataBody.length > 0) {
        throw new FlightInvalidArgumentError('FlightData has a data_body but no data_header');
      }
      return;
    }
    this.#builder.add(fd.dataHeader, fd.dataBody);
  }

  /** The put, after the client half-closed. Throws FlightInvalidArgumentError if incomplete. */
  finish(): AssembledPut {
    if (this.#path === undefined) {
      throw new FlightInvalidArgumentError('DoPut stream ended without any FlightData');
    }
    if (this.#builder.messageCount === 0) {
      throw new FlightInvalidArgumentError('DoPut stream carried no Arrow Schema message');
    }
    return {
      path: this.#path,
      ipc: this.#builder.finish(),
      appMetadata: this.#appMetadata,
      flightDataCount: this.#count,
      recordBatchCount: this.#builder.recordBatchCount,
    };
  }
}
