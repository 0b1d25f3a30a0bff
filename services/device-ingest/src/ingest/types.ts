/**
 * The seams between the protocol edges (src/http/protocols/*) and the ingest core. Every
 * protocol decodes and validates its payload, authenticates the device through the
 * DeviceDirectory, maps the payload to NormalisedEvents (pure functions in src/domain/normalise)
 * and hands them to the IngestPipeline; it answers the device success only when `accept`
 * resolved. What it cannot parse goes to the Quarantine with the reason, and the device gets a 4xx.
 */
import type { AnyTopicDefinition } from '@anfang/platform/bus';
import type { RegisteredDevice } from '../domain/device.ts';

export type ProtocolName = 'generic' | 'gat1400' | 'isapi' | 'itsapi';

/** An image that arrived with an event; stored before the event is published. */
export interface IncomingImage {
  /** anfang.common.v1.ImageKind */
  readonly kind: number;
  readonly contentType: string;
  readonly bytes: Buffer;
  /** The device's own name for it (file name, GA/T ImageID), for traceability. */
  readonly sourceName?: string;
}

/**
 * One normalised event before it is stamped: the payload without `meta` (the pipeline fills it)
 * and without image refs (the pipeline stores `images` and fills the payload's image field).
 */
export interface NormalisedEvent {
  readonly topic: AnyTopicDefinition;
  /** Payload fields of the topic's message type, `meta` and images excluded. */
  readonly payload: Record<string, unknown>;
  /**
   * The device's own identity for this capture (GA/T FaceID, ISAPI UUID, Dahua plate + time…):
   * with the device id it derives the event id, so a resend is a duplicate, not a new event.
   */
  readonly sourceKey: string;
  /** When it happened, by the device's clock. */
  readonly occurredAt: Date;
  readonly images: readonly IncomingImage[];
  /** Name of the repeated ImageRef field of the payload that receives the stored images. */
  readonly imageField?: string;
}

export interface AcceptContext {
  readonly protocol: ProtocolName;
  /** Platform time when the request arrived. */
  readonly receivedAt: Date;
  /**
   * When the device sent the message, by its clock (a signed timestamp header, a GA/T message
   * time): the clock-offset sample. Event times are not (capture-to-send latency), so without
   * it no offset is recorded.
   */
  readonly deviceTime?: Date;
  /**
   * `deviceTime` is the time of the events themselves (ISAPI `dateTime`, ITSAPI `AccurateTime`),
   * not a send time: it is sampled only when the call created at least one event, never from a
   * resend the pipeline answers as a duplicate.
   */
  readonly deviceTimeOfEvents?: boolean;
  /**
   * A check the request must still pass (the generic API's nonce, spent concurrently with the
   * dedupe lookup): `accept` awaits it before storing or publishing anything and rejects with
   * its error if it rejects.
   */
  readonly admission?: Promise<void>;
}

export interface AcceptedEvent {
  readonly eventId: string;
  /** False when the event id was already accepted (a resend): nothing was published again. */
  readonly created: boolean;
}

export interface IngestPipeline {
  /**
   * Stores the images, publishes the events (durably: on the bus) and records the device's
   * activity and clock. Resolves when all of it is durable; rejects if any of it is not, so the
   * device retries. Idempotent per event id.
   */
  accept(
    device: RegisteredDevice,
    events: readonly NormalisedEvent[],
    context: AcceptContext,
  ): Promise<AcceptedEvent[]>;
  /** A heartbeat or keepalive: activity and clock only. Returns commands waiting for the device. */
  heartbeat(
    device: RegisteredDevice,
    context: AcceptContext & { deviceTime?: Date },
  ): Promise<PendingCommand[]>;
  /**
   * The device's result of a command (counts as contact, too). Optional so that test doubles of
   * the pipeline written before it existed still fit; the real pipeline has it.
   */
  acknowledgeCommand?(
    device: RegisteredDevice,
    commandId: string,
    result: 'succeeded' | 'failed',
    detail: string,
    context: AcceptContext,
  ): Promise<CommandAck>;
}

export interface CommandAck {
  /** applied: recorded now; already-final: it had a final status (given); not-found: no such command for the device. */
  readonly outcome: 'applied' | 'already-final' | 'not-found';
  readonly status?: string;
}

export interface PendingCommand {
  readonly commandId: string;
  /** anfang.device.v1.DeviceCommand as JSON (proto3 canonical). */
  readonly command: Record<string, unknown>;
}

export interface QuarantineInput {
  readonly protocol: ProtocolName;
  readonly reason: string;
  /** HTTP status answered to the device. */
  readonly status: number;
  readonly remoteAddress: string;
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
  /** Declared size when the body was cut short (oversized, aborted); default body.length. */
  readonly size?: number;
  /** The device, when it could be identified. */
  readonly deviceId?: string;
}

export interface Quarantine {
  /** Keeps the payload (object store) and a row (Postgres) for inspection; returns its id. */
  keep(input: QuarantineInput): Promise<string>;
}

/** The quarantine with its retention (the store; protocols only keep). */
export interface QuarantineStore extends Quarantine {
  /**
   * Deletes what was quarantined before `cutoff`, payloads first and then their rows, in batches;
   * returns how many were deleted. Safe on several replicas at once (rows are claimed).
   */
  sweep(cutoff: Date, batchSize?: number): Promise<number>;
}

/** Looks devices up for authentication; served from memory, kept in step with the registry. */
export interface DeviceDirectory {
  byId(deviceId: string): RegisteredDevice | undefined;
  byGat1400Id(gat1400Id: string): RegisteredDevice | undefined;
  /** Vendor pushes: the registry's address (and serial, when the payload has one) must match. */
  byAddress(ipAddress: string, serialNumber?: string): RegisteredDevice | undefined;
  /** The device's secret (for HMAC and HTTP Digest), decrypted; undefined if none. */
  secretOf(deviceId: string): Promise<string | undefined>;
}
