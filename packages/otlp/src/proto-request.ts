import { acquireBlockContext, type BlockContext } from './block.js';
import { Budget, defaultOutputLimit } from './budget.js';
import { readResource, readScope, scanHeader } from './proto-block.js';
import { ProtoReader } from './proto-reader.js';
import { Rejections } from './rejections.js';
import type { DecodeOptions } from './result.js';

/**
 * What the three protobuf request decoders share: the walk down to the items. The
 * Export{Trace,Logs,Metrics}ServiceRequest messages have the same shape and field
 * numbers down to the items:
 *
 * ```
 * request  1: Resource{Spans,Logs,Metrics}  (repeated)
 *            1: Resource  3: schema_url     → the block context (scanHeader first: they may follow 2)
 *            2: Scope{Spans,Logs,Metrics}   (repeated)
 *                 1: InstrumentationScope  3: schema_url → the block context
 *                 2: Span / LogRecord / Metric (repeated) → `item`
 * ```
 *
 * A subclass decodes one item into its columns and, in `endScope`, records the rows
 * the scope added under the context's resource and scope. Decoders are single-use.
 */
export abstract class ProtoRequestDecoder {
  readonly r: ProtoReader;
  /** The request's output budget (for the subclass's column writers). */
  readonly budget: Budget;
  readonly ctx: BlockContext;
  readonly rejections: Rejections;
  /** Indices of the current ResourceX and ScopeX (for rejection paths). */
  protected ri = 0;
  protected si = 0;
  private readonly header = new Int32Array(4);

  /** `noun`: plural of the rejected items ("spans", "log records", "data points"). */
  constructor(bytes: Uint8Array, options: DecodeOptions, noun: string) {
    this.budget = new Budget(
      options.maxOutputBytes ?? defaultOutputLimit(bytes.length),
      options.transient ?? false,
    );
    this.r = new ProtoReader(bytes);
    this.ctx = acquireBlockContext(this.budget);
    this.rejections = new Rejections(noun);
  }

  /** Decodes the whole request; throws InvalidInputError when it is not valid protobuf. */
  run(): void {
    const r = this.r;
    const end = r.len;
    while (r.pos < end) {
      const tag = r.varint();
      if (tag === 10) {
        const e = r.lenEnd(end);
        this.resource(r.pos, e);
        r.pos = e;
        this.ri++;
      } else {
        r.skip(tag, end, 1 << 1);
      }
    }
    r.checkEnd(end);
  }

  /**
   * Decodes item `index` of the current scope, the message `[start, end)`. `r.pos` is
   * `start` on entry and may be anywhere on return.
   */
  protected abstract item(start: number, end: number, index: number): void;

  /** The current scope's items are done: record its rows under the context's block. */
  protected abstract endScope(): void;

  private resource(start: number, end: number): void {
    const r = this.r;
    const h = this.header;
    scanHeader(r, start, end, h);
    readResource(r, this.ctx, h[0]!, h[1]!, h[2]!, h[3]!);
    this.si = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      if (tag === 18) {
        const e = r.lenEnd(end);
        this.scope(r.pos, e);
        this.si++;
        r.pos = e;
      } else {
        r.skip(tag, end, 0); // fields other than 2 were validated by scanHeader
      }
    }
  }

  private scope(start: number, end: number): void {
    const r = this.r;
    const h = this.header;
    scanHeader(r, start, end, h);
    readScope(r, this.ctx, h[0]!, h[1]!, h[2]!, h[3]!);
    let index = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      if (tag === 18) {
        const e = r.lenEnd(end);
        this.item(r.pos, e, index++);
        r.pos = e;
      } else {
        r.skip(tag, end, 0); // validated by scanHeader
      }
    }
    this.endScope();
  }
}
