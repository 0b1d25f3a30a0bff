import {
  context,
  createContextKey,
  propagation,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { Metadata } from '@grpc/grpc-js';

const DEADLINE = createContextKey('anfang.grpc.deadline');

/** The deadline of the gRPC call being served in `ctx`, if any (clients inherit it). */
export function activeDeadline(ctx: Context = context.active()): Date | undefined {
  const value = ctx.getValue(DEADLINE);
  return value instanceof Date ? value : undefined;
}

export function withDeadline(ctx: Context, deadline: Date): Context {
  return ctx.setValue(DEADLINE, deadline);
}

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get(carrier, key) {
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    return values.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
  },
};

const metadataSetter: TextMapSetter<Metadata> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

/** Writes the trace context of `ctx` into gRPC metadata. */
export function injectMetadata(metadata: Metadata, ctx: Context = context.active()): Metadata {
  propagation.inject(ctx, metadata, metadataSetter);
  return metadata;
}

/** The trace context carried by gRPC metadata, over `base`. */
export function extractMetadata(metadata: Metadata, base: Context = context.active()): Context {
  return propagation.extract(base, metadata, metadataGetter);
}
