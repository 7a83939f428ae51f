import {
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { root } from '../test/support/proto.js';
import {
  BAD_REQUEST_TYPE_URL,
  encodeExportResponse,
  encodeRpcStatus,
  GrpcCode,
  RETRY_INFO_TYPE_URL,
} from './replies.js';

const decode = (name: string, bytes: Uint8Array) => {
  const t = root.lookupType(name);
  return t.toObject(t.decode(bytes), { longs: String, defaults: false });
};
/** Status with its Any details left packed (protobufjs toObject would unpack them; its
 * built-in google.protobuf.Any keeps the proto field names). */
const decodeStatus = (bytes: Uint8Array) =>
  root.lookupType('google.rpc.Status').decode(bytes) as unknown as {
    code: number;
    message: string;
    details: Array<{ type_url: string; value: Uint8Array }>;
  };
const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

describe('export responses', () => {
  it('full success is the empty message', () => {
    expect(encodeExportResponse('traces', 'protobuf')).toEqual(new Uint8Array(0));
    expect(json(encodeExportResponse('logs', 'json'))).toEqual({});
    expect(encodeExportResponse('metrics', 'protobuf', { rejected: 0, errorMessage: '' })).toEqual(
      new Uint8Array(0),
    );
  });

  it.each([
    ['traces', 'trace.v1.ExportTraceServiceResponse', 'rejectedSpans'],
    ['metrics', 'metrics.v1.ExportMetricsServiceResponse', 'rejectedDataPoints'],
    ['logs', 'logs.v1.ExportLogsServiceResponse', 'rejectedLogRecords'],
  ] as const)('%s partial success decodes with protobufjs', (signal, type, field) => {
    const partial = {
      rejected: 5_000_000_000,
      errorMessage: '3 spans rejected: trace_id \u{1F937}',
    };
    const bytes = encodeExportResponse(signal, 'protobuf', partial);
    const msg = decode(`opentelemetry.proto.collector.${type}`, bytes);
    expect(msg).toEqual({
      partialSuccess: { [field]: '5000000000', errorMessage: partial.errorMessage },
    });
    expect(json(encodeExportResponse(signal, 'json', partial))).toEqual({
      partialSuccess: { [field]: '5000000000', errorMessage: partial.errorMessage },
    });
  });

  it('a warning without rejections carries only the message', () => {
    const bytes = encodeExportResponse('traces', 'protobuf', {
      rejected: 0,
      errorMessage: 'slow down',
    });
    expect(
      decode('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse', bytes),
    ).toEqual({
      partialSuccess: { errorMessage: 'slow down' },
    });
  });

  it('the OTel JS exporters read our replies', () => {
    const partial = { rejected: 2, errorMessage: 'bad ids' };
    const t = ProtobufTraceSerializer.deserializeResponse(
      encodeExportResponse('traces', 'protobuf', partial),
    );
    expect(Number(t.partialSuccess?.rejectedSpans)).toBe(2);
    expect(t.partialSuccess?.errorMessage).toBe('bad ids');
    const m = ProtobufMetricsSerializer.deserializeResponse(
      encodeExportResponse('metrics', 'protobuf', partial),
    );
    expect(Number(m.partialSuccess?.rejectedDataPoints)).toBe(2);
    const l = ProtobufLogsSerializer.deserializeResponse(
      encodeExportResponse('logs', 'protobuf', partial),
    );
    expect(Number(l.partialSuccess?.rejectedLogRecords)).toBe(2);
    const j = JsonTraceSerializer.deserializeResponse(
      encodeExportResponse('traces', 'json', partial),
    );
    expect(Number(j.partialSuccess?.rejectedSpans)).toBe(2);
  });

  it('rejects nonsense counts', () => {
    expect(() =>
      encodeExportResponse('traces', 'json', { rejected: -1, errorMessage: '' }),
    ).toThrow(RangeError);
    expect(() =>
      encodeExportResponse('traces', 'json', { rejected: 1.5, errorMessage: '' }),
    ).toThrow(RangeError);
  });
});

describe('google.rpc.Status', () => {
  it('INVALID_ARGUMENT with BadRequest details (protobuf)', () => {
    const bytes = encodeRpcStatus(
      {
        code: GrpcCode.INVALID_ARGUMENT,
        message: 'invalid protobuf at byte 12: truncated input',
        fieldViolations: [
          { field: 'resource_spans[0]', description: 'truncated', reason: 'TRUNCATED' },
          { field: '', description: 'x' },
        ],
      },
      'protobuf',
    );
    const status = decodeStatus(bytes);
    expect(status.code).toBe(3);
    expect(status.message).toBe('invalid protobuf at byte 12: truncated input');
    expect(status.details).toHaveLength(1);
    expect(status.details[0]!.type_url).toBe(BAD_REQUEST_TYPE_URL);
    expect(decode('google.rpc.BadRequest', status.details[0]!.value)).toEqual({
      fieldViolations: [
        { field: 'resource_spans[0]', description: 'truncated', reason: 'TRUNCATED' },
        { description: 'x' },
      ],
    });
  });

  it('UNAVAILABLE with RetryInfo (protobuf and JSON)', () => {
    const status = {
      code: GrpcCode.UNAVAILABLE,
      message: 'writer unavailable',
      retryDelayMs: 1500.25,
    };
    const msg = decodeStatus(encodeRpcStatus(status, 'protobuf'));
    expect(msg.details[0]!.type_url).toBe(RETRY_INFO_TYPE_URL);
    expect(decode('google.rpc.RetryInfo', msg.details[0]!.value)).toEqual({
      retryDelay: { seconds: '1', nanos: 500250000 },
    });
    expect(json(encodeRpcStatus(status, 'json'))).toEqual({
      code: 14,
      message: 'writer unavailable',
      details: [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: '1.500250s' }],
    });
    expect(json(encodeRpcStatus({ code: 14, message: '', retryDelayMs: 2000 }, 'json'))).toEqual({
      code: 14,
      details: [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: '2s' }],
    });
  });

  it('JSON form of BadRequest', () => {
    const body = json(
      encodeRpcStatus(
        { code: 3, message: 'bad', fieldViolations: [{ field: 'a.b', description: 'c' }] },
        'json',
      ),
    );
    expect(body).toEqual({
      code: 3,
      message: 'bad',
      details: [
        { '@type': BAD_REQUEST_TYPE_URL, fieldViolations: [{ field: 'a.b', description: 'c' }] },
      ],
    });
  });

  it('a status without details has none', () => {
    const msg = decode(
      'google.rpc.Status',
      encodeRpcStatus({ code: 16, message: 'no credentials' }, 'protobuf'),
    );
    expect(msg).toEqual({ code: 16, message: 'no credentials' });
  });
});
