/**
 * Enrolment faces for the terminals, read when a command is pushed.
 *
 * An access-list entry names its face by `ImageRef` (the full bucket key, in the part of the
 * bucket of the service that stored it — identity's enrolment pictures). Three ways were open:
 *
 * - the bytes inline in the command: an access-list command carries up to hundreds of entries
 *   and a terminal's face picture is up to 200 KiB, so commands would outgrow Kafka's 1 MiB
 *   message and be copied into every queued row and outbox entry;
 * - a presigned GET URL in the command, minted by the owner: a command waits in the queue until
 *   the device takes it (up to its expiry, and it is pushed again after outages), so the URL would
 *   have to live as long as the command and would sit, a bearer credential, in Kafka and Postgres;
 *   the terminal would also need a route to the object store, which a compound LAN seldom has;
 * - read by key at push time from the owner's part of the bucket, which the install grants to
 *   device-ingest (`ENROLMENT_FACE_SOURCES`, the owners' store prefixes; with per-service S3
 *   credentials, a read-only policy on those prefixes): the picture stays where its owner keeps
 *   it, is read only when a terminal takes it, is checked against the ImageRef's sha256, and
 *   travels to the terminal in the request itself (FDSetUp multipart).
 *
 * The third is this module: nothing outside the granted prefixes is ever read.
 */
import { createHash } from 'node:crypto';
import { ObjectNotFoundError, type ObjectStore } from '@anfang/platform/objects';
import type { FaceImageRef } from '../domain/isapi-commands.ts';

/** Hikvision access terminals refuse face pictures over 200 KiB (FDLib `faceDataFormatError`). */
export const MAX_FACE_BYTES = 200 * 1024;

export type FaceImageRead =
  | { readonly ok: true; readonly bytes: Buffer }
  /** `final`: the command cannot succeed (reading again gives the same); else retry later. */
  | { readonly ok: false; readonly final: boolean; readonly detail: string };

export interface FaceImages {
  read(ref: FaceImageRef): Promise<FaceImageRead>;
}

/** Faces from the granted stores (each opened with its owner's prefix, e.g. `identity/`). */
export function grantedFaceImages(sources: readonly ObjectStore[]): FaceImages {
  return {
    async read(ref) {
      const source = sources.find((s) => s.prefix !== '' && ref.objectKey.startsWith(s.prefix));
      if (!source)
        return {
          ok: false,
          final: true,
          detail: `face ${ref.objectKey} is outside the granted sources (ENROLMENT_FACE_SOURCES: ${
            sources.map((s) => s.prefix).join(', ') || 'none'
          })`,
        };
      let bytes: Buffer;
      try {
        bytes = await source.get(ref.objectKey.slice(source.prefix.length));
      } catch (err) {
        return err instanceof ObjectNotFoundError
          ? { ok: false, final: true, detail: `face ${ref.objectKey} not found` }
          : { ok: false, final: false, detail: `face ${ref.objectKey}: ${(err as Error).message}` };
      }
      const refusal =
        bytes.length > MAX_FACE_BYTES
          ? `is ${bytes.length} bytes, terminals take at most ${MAX_FACE_BYTES}`
          : bytes[0] !== 0xff || bytes[1] !== 0xd8
            ? 'is not a JPEG'
            : ref.sha256 !== '' && createHash('sha256').update(bytes).digest('hex') !== ref.sha256
              ? 'does not match its sha256'
              : undefined;
      return refusal === undefined
        ? { ok: true, bytes }
        : { ok: false, final: true, detail: `face ${ref.objectKey} ${refusal}` };
    },
  };
}
