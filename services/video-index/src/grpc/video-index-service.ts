/**
 * anfang.video.v1.VideoIndexService: authenticate the caller, check role and compound scope,
 * validate, delegate to the stores, map to protos. Person searches (and person ids in results)
 * are for the police only; every search that returns images is written to the audit log.
 */
import { timestampFromDate, timestampToDate, VideoIndexService, type anfang } from '@anfang/contracts';
import {
  compoundScope,
  hasCompound,
  scopeProblems,
  requireCompound,
  requireRole,
  type Caller,
  type CallerVerifier,
  type Role,
} from '@anfang/platform/auth';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  grpcService,
  NotFoundError,
  importResponse,
  importRows,
  parseCsvUpload,
  PermissionDeniedError,
  type CallContext,
  type GrpcService,
} from '@anfang/platform/grpc';
import type { Logger } from '@anfang/platform/log';
import type { ObjectStore } from '@anfang/platform/objects';
import { checkCameraFields, ZONE_GROUP_NAMES, type CameraFields, type ZoneGroup } from '../domain/camera.ts';
import { parseCameraCsv } from '../domain/camera-csv.ts';
import {
  CLASS_FROM_PROTO,
  CLASS_TO_PROTO,
  frontendCompliant,
  MIN_RETENTION_DAYS,
} from '../domain/classes.ts';
import { decodePageToken, encodePageToken, PageTokenError } from '../domain/page-token.ts';
import { CameraConflictError, type Camera, type CameraStore } from '../store/cameras.ts';
import type { Hold, HoldStore } from '../store/holds.ts';
import type { IndexedImage, MediaStore } from '../store/media.ts';
import {
  ReconciliationBusyError,
  type ReconciliationReport,
  type Reconciler,
} from '../store/reconciliation.ts';
import type { RetentionPolicy, RetentionStore } from '../store/retention.ts';
import { valid } from './problems.ts';

/** Who registers cameras. */
const PLANNERS: readonly Role[] = ['district_admin', 'community_manager', 'property_staff'];
/** Who reads cameras and searches images (a town/street office its area's; auditors masked). */
const READERS: readonly Role[] = [...PLANNERS, 'street_officer', 'guard', 'police', 'auditor', 'service'];
/** Who may search by person and see person ids. */
const PERSON_SEARCHERS: readonly Role[] = ['police'];
/** Who places and releases legal holds. */
const HOLDERS: readonly Role[] = ['police'];
/** Who sets retention and runs reconciliation. */
const ADMINS: readonly Role[] = ['district_admin'];
/** Who runs reconciliation: storage is infrastructure, the platform operator's too. */
const RECONCILERS: readonly Role[] = [...ADMINS, 'platform_operator'];
/** Who reads storage figures (compliance-scoring and the dashboard among them). */
const FIGURE_READERS: readonly Role[] = [
  'district_admin',
  'street_officer',
  'community_manager',
  'property_staff',
  'police',
  'auditor',
  'platform_operator',
  'service',
];

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
const MAX_RANGE_MS = 92 * 86_400_000;
const MAX_HOLD_KEYS = 10_000;

const ZONE_GROUP_FROM_PROTO: Readonly<Record<number, ZoneGroup>> = Object.fromEntries(
  ZONE_GROUP_NAMES.map((g, i) => [i + 1, g]),
);
const ZONE_GROUP_TO_PROTO = Object.fromEntries(ZONE_GROUP_NAMES.map((g, i) => [g, i + 1])) as Record<
  ZoneGroup,
  anfang.video.v1.ZoneGroup
>;

const ts = (date: Date | undefined) => (date ? timestampFromDate(date) : null);

function cameraProto(c: Camera): anfang.video.v1.ICamera {
  return {
    cameraId: c.cameraId,
    compoundId: c.compoundId,
    name: c.name,
    zoneGroup: ZONE_GROUP_TO_PROTO[c.zoneGroup],
    deviceId: c.deviceId,
    rtspUrl: c.rtspUrl,
    gb28181Id: c.gb28181Id,
    position: c.position,
    frontendStorageDays: c.frontendStorageDays,
    frontendStorageCompliant: frontendCompliant(c.frontendStorageDays),
    decommissioned: c.decommissioned,
    createdAt: ts(c.createdAt),
    updatedAt: ts(c.updatedAt),
  };
}

function holdProto(h: Hold): anfang.video.v1.IHold {
  return {
    holdId: h.holdId,
    compoundId: h.compoundId,
    alarmId: h.alarmId,
    caseId: h.caseId,
    reason: h.reason,
    placedBy: h.placedBy,
    placedAt: ts(h.placedAt),
    releasedAt: ts(h.releasedAt),
    releasedBy: h.releasedBy,
    objectKeys: [...h.objectKeys],
  };
}

function policyProto(p: RetentionPolicy): anfang.video.v1.IRetentionPolicy {
  return {
    imageClass: CLASS_TO_PROTO[p.imageClass],
    days: p.days,
    updatedBy: p.updatedBy,
    updatedAt: ts(p.updatedAt),
  };
}

function reportProto(r: ReconciliationReport): anfang.video.v1.IReconciliationReport {
  return {
    runId: r.runId,
    startedAt: ts(r.startedAt),
    finishedAt: ts(r.finishedAt),
    objectsListed: r.objectsListed,
    rowsCompared: r.rowsCompared,
    orphanObjects: r.orphanObjects,
    objectsIndexed: r.objectsIndexed,
    objectsDeleted: r.objectsDeleted,
    missingObjects: r.missingObjects,
    rowsRemoved: r.rowsRemoved,
    error: r.error,
    sampleOrphanKeys: [...r.sampleOrphanKeys],
    sampleMissingKeys: [...r.sampleMissingKeys],
  };
}

function cameraFields(
  camera: anfang.video.v1.ICamera,
  add: (field: string, description: string) => void,
): CameraFields {
  const zoneGroup = ZONE_GROUP_FROM_PROTO[camera.zoneGroup ?? 0];
  if (!zoneGroup) add('camera.zone_group', `one of ${ZONE_GROUP_NAMES.join(', ').toUpperCase()}`);
  return checkCameraFields(
    {
      compoundId: camera.compoundId ?? '',
      name: camera.name ?? '',
      zoneGroup: zoneGroup ?? 'public_areas',
      deviceId: camera.deviceId ?? '',
      rtspUrl: camera.rtspUrl ?? '',
      gb28181Id: camera.gb28181Id ?? '',
      position: camera.position ?? '',
      frontendStorageDays: camera.frontendStorageDays ?? 0,
    },
    (field, description) => add(`camera.${field}`, description),
  );
}

export function videoIndexGrpcService(deps: {
  readonly verifier: CallerVerifier;
  readonly cameras: CameraStore;
  readonly media: MediaStore;
  readonly holds: HoldStore;
  readonly retention: RetentionStore;
  readonly reconciler: Reconciler;
  readonly objects: ObjectStore;
  readonly urlSeconds: number;
  readonly lifecycleInstalled: () => boolean;
  readonly logger: Logger;
}): GrpcService<typeof VideoIndexService.definition> {
  const { verifier, cameras, media, holds, retention, reconciler, objects, urlSeconds } = deps;
  const audit = deps.logger.child({ component: 'audit' });

  async function authorise(ctx: CallContext, roles: readonly Role[]): Promise<Caller> {
    const caller = await verifier.verify(ctx.metadata);
    requireRole(caller, ...roles);
    return caller;
  }

  /** A camera the caller may see (NOT_FOUND for another compound's: its id says nothing). */
  async function visibleCamera(caller: Caller, cameraId: string): Promise<Camera> {
    const camera = await cameras.get(cameraId);
    if (!camera || !hasCompound(caller, camera.compoundId))
      throw new NotFoundError(`camera ${cameraId} not found`);
    return camera;
  }

  const conflicts = <T>(write: Promise<T>): Promise<T> =>
    write.catch((error: unknown) => {
      if (error instanceof CameraConflictError) throw new AlreadyExistsError(error.message);
      throw error;
    });

  async function visibleHold(caller: Caller, holdId: string): Promise<Hold> {
    const hold = await holds.get(holdId);
    if (!hold || !hasCompound(caller, hold.compoundId)) throw new NotFoundError(`hold ${holdId} not found`);
    return hold;
  }

  async function imageProto(image: IndexedImage, mayPerson: boolean): Promise<anfang.video.v1.IIndexedImage> {
    return {
      objectKey: image.objectKey,
      compoundId: image.compoundId,
      deviceId: image.deviceId,
      capturedAt: ts(image.capturedAt),
      eventType: image.eventType,
      eventId: image.eventId,
      imageClass: CLASS_TO_PROTO[image.imageClass],
      plateNumber: image.plateNumber,
      personId: mayPerson ? image.personId : '',
      contentType: image.contentType,
      sizeBytes: image.sizeBytes ?? 0,
      sha256: image.sha256,
      held: image.held,
      url: await objects.presignedGetUrl(image.objectKey.slice(objects.prefix.length), urlSeconds),
      urlExpiresAt: ts(new Date(Date.now() + urlSeconds * 1000)),
    };
  }

  async function* importCameras(
    request: anfang.video.v1.ImportCamerasRequest,
    ctx: CallContext,
  ): AsyncGenerator<anfang.video.v1.IImportCamerasResponse> {
    const caller = await authorise(ctx, PLANNERS);
    for await (const step of importRows(parseCsvUpload(request.csv, parseCameraCsv), {
      outcomes: ['created', 'updated', 'unchanged'],
      signal: ctx.signal,
      check: (fields) => scopeProblems(caller, fields.compoundId),
      apply: (fields) => cameras.importRow(fields),
      refusal: (error) =>
        error instanceof CameraConflictError ? [{ field: 'row', description: error.message }] : undefined,
    }))
      yield importResponse(step, (row) => ({ name: row.name }));
  }

  return grpcService(VideoIndexService.definition, {
    importCameras,

    async createCamera(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const fields = valid((p) => cameraFields(request.camera ?? {}, p.add));
      requireCompound(caller, fields.compoundId);
      return { camera: cameraProto(await conflicts(cameras.create(fields))) };
    },

    async updateCamera(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const camera = request.camera ?? {};
      const { cameraId, fields } = valid((p) => ({
        cameraId: p.uuid('camera.camera_id', camera.cameraId),
        // The compound cannot change: the stored one stands in for the check.
        fields: cameraFields({ ...camera, compoundId: camera.compoundId || 'x' }, p.add),
      }));
      const existing = await visibleCamera(caller, cameraId);
      if (camera.compoundId && camera.compoundId !== existing.compoundId)
        throw new FailedPreconditionError('a camera cannot move to another compound');
      const updated = await conflicts(cameras.update(cameraId, fields));
      if (!updated) throw new NotFoundError(`camera ${cameraId} not found`);
      return { camera: cameraProto(updated) };
    },

    async getCamera(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const cameraId = valid((p) => p.uuid('camera_id', request.cameraId));
      return { camera: cameraProto(await visibleCamera(caller, cameraId)) };
    },

    async listCameras(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const filter = valid((p) => {
        const zoneGroup = request.zoneGroup ? ZONE_GROUP_FROM_PROTO[request.zoneGroup] : undefined;
        if (request.zoneGroup && !zoneGroup) p.add('zone_group', 'unknown zone group');
        const size = request.page?.pageSize ?? 0;
        if (size < 0) p.add('page.page_size', 'not negative');
        return {
          compoundId: p.compound('compound_id', request.compoundId),
          zoneGroup,
          nonCompliantOnly: request.nonCompliantOnly ?? false,
          nameContains: p.text('name_contains', request.nameContains, false, 200),
          after: request.page?.pageToken
            ? Buffer.from(request.page.pageToken, 'base64url').toString('utf8')
            : '',
          limit: Math.min(size || DEFAULT_PAGE, MAX_PAGE),
        };
      });
      requireCompound(caller, filter.compoundId);
      const list = await cameras.list({ ...filter, limit: filter.limit + 1 });
      const page = list.slice(0, filter.limit);
      const more = list.length > filter.limit;
      return {
        cameras: page.map(cameraProto),
        page: {
          nextPageToken: more ? Buffer.from(page[page.length - 1]!.name).toString('base64url') : '',
          totalSize: -1,
        },
      };
    },

    async deleteCamera(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const cameraId = valid((p) => p.uuid('camera_id', request.cameraId));
      await visibleCamera(caller, cameraId);
      await cameras.delete(cameraId);
      return {};
    },

    async searchImages(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const mayPerson = PERSON_SEARCHERS.includes(caller.role);
      if (request.personId && !mayPerson)
        throw new PermissionDeniedError(`role ${caller.role} may not search by person (police only)`);
      const query = valid((p) => {
        const from = timestampToDate(request.from);
        const to = timestampToDate(request.to);
        if (!from) p.add('from', 'required');
        if (!to) p.add('to', 'required');
        if (from && to && to.getTime() <= from.getTime()) p.add('to', 'after from');
        if (from && to && to.getTime() - from.getTime() > MAX_RANGE_MS)
          p.add('to', 'at most 92 days after from');
        const imageClass = request.imageClass ? CLASS_FROM_PROTO[request.imageClass] : undefined;
        if (request.imageClass && !imageClass) p.add('image_class', 'unknown class');
        const size = request.page?.pageSize ?? 0;
        if (size < 0) p.add('page.page_size', 'not negative');
        const deviceIds = [...new Set((request.deviceIds ?? []).map((d) => d.trim()))];
        if (deviceIds.some((d) => !d)) p.add('device_ids', 'no empty ids');
        if (deviceIds.length > 100) p.add('device_ids', 'at most 100');
        return {
          compoundId: p.compound('compound_id', request.compoundId),
          deviceIds,
          from: from ?? new Date(0),
          to: to ?? new Date(0),
          eventType: p.text('event_type', request.eventType, false, 200),
          plateNumber: p.text('plate_number', request.plateNumber, false, 20).toUpperCase(),
          personId: p.text('person_id', request.personId, false, 100),
          imageClass,
          limit: Math.min(size || DEFAULT_PAGE, MAX_PAGE),
        };
      });
      requireCompound(caller, query.compoundId);
      // The token is bound to everything but the page itself.
      const fingerprint = JSON.stringify({
        ...query,
        from: query.from.toISOString(),
        to: query.to.toISOString(),
      });
      let after;
      try {
        after = request.page?.pageToken ? decodePageToken(request.page.pageToken, fingerprint) : undefined;
      } catch (error) {
        if (error instanceof PageTokenError)
          throw new FailedPreconditionError(`page_token: ${error.message}; start again without it`);
        throw error;
      }
      const found = await media.search({ ...query, after, limit: query.limit + 1 });
      const page = found.slice(0, query.limit);
      const last = page[page.length - 1];
      const images = await Promise.all(page.map((image) => imageProto(image, mayPerson)));
      // Images of people are personal information: who looked at which, and why, is kept.
      audit.info(
        {
          audit: 'images-read',
          subject: caller.subject,
          role: caller.role,
          purpose: caller.purpose ?? '',
          compoundId: query.compoundId,
          personSearch: query.personId !== '',
          plateSearch: query.plateNumber !== '',
          objectKeys: page.map((i) => i.objectKey),
        },
        'images read',
      );
      return {
        images,
        page: {
          nextPageToken: found.length > query.limit && last ? encodePageToken(last, fingerprint) : '',
          totalSize: -1,
        },
      };
    },

    async getRetention(_request, ctx) {
      await authorise(ctx, READERS);
      return {
        policies: (await retention.policies()).map(policyProto),
        bucketLifecycleInstalled: deps.lifecycleInstalled(),
      };
    },

    async setRetention(request, ctx) {
      const caller = await authorise(ctx, ADMINS);
      const { imageClass, days } = valid((p) => {
        const imageClass = CLASS_FROM_PROTO[request.imageClass ?? 0];
        if (!imageClass) p.add('image_class', 'FACES, VEHICLES, ALARMS or GENERAL');
        const days = request.days ?? 0;
        if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS)
          p.add('days', `at least ${MIN_RETENTION_DAYS} (the legal minimum of back-end storage)`);
        return { imageClass: imageClass!, days };
      });
      return { policy: policyProto(await retention.set(imageClass, days, caller.subject)) };
    },

    async placeHold(request, ctx) {
      const caller = await authorise(ctx, HOLDERS);
      const input = valid((p) => {
        const keys = [...new Set((request.objectKeys ?? []).map((k) => k.trim()))];
        if (keys.length === 0) p.add('object_keys', 'at least one');
        if (keys.length > MAX_HOLD_KEYS) p.add('object_keys', `at most ${MAX_HOLD_KEYS}`);
        if (keys.some((k) => !k)) p.add('object_keys', 'no empty keys');
        return {
          compoundId: p.compound('compound_id', request.compoundId),
          caseId: p.text('case_id', request.caseId, true, 100),
          reason: p.text('reason', request.reason, true, 2000),
          objectKeys: keys,
        };
      });
      requireCompound(caller, input.compoundId);
      const known = await media.existing(input.objectKeys);
      // A key of another compound is as unknown to this caller as a key never indexed.
      const unknown = input.objectKeys.filter((k) => known.get(k) !== input.compoundId);
      if (unknown.length)
        throw new FailedPreconditionError(
          `${unknown.length} object keys are not indexed in compound ${input.compoundId} (first: ${unknown[0]}); nothing was held`,
        );
      const hold = await holds.placeCaseHold({ ...input, placedBy: caller.subject });
      audit.info(
        { audit: 'hold-placed', subject: caller.subject, holdId: hold.holdId, caseId: hold.caseId },
        'hold placed',
      );
      return { hold: holdProto(hold) };
    },

    async releaseHold(request, ctx) {
      const caller = await authorise(ctx, HOLDERS);
      const { holdId, reason } = valid((p) => ({
        holdId: p.uuid('hold_id', request.holdId),
        reason: p.text('reason', request.reason, true, 2000),
      }));
      const hold = await visibleHold(caller, holdId);
      if (hold.alarmId)
        throw new FailedPreconditionError('an alarm hold is released when its alarm is resolved');
      if (hold.releasedAt) throw new FailedPreconditionError(`hold ${holdId} was already released`);
      const released = await holds.release(holdId, caller.subject, reason);
      audit.info({ audit: 'hold-released', subject: caller.subject, holdId }, 'hold released');
      return { hold: holdProto(released!) };
    },

    async listHolds(request, ctx) {
      const caller = await authorise(ctx, [...HOLDERS, ...ADMINS]);
      const compoundId = valid((p) => p.compound('compound_id', request.compoundId));
      requireCompound(caller, compoundId);
      return { holds: (await holds.list(compoundId, request.includeReleased ?? false)).map(holdProto) };
    },

    async runReconciliation(_request, ctx) {
      await authorise(ctx, RECONCILERS);
      try {
        return { report: reportProto(await reconciler.run(new Date())) };
      } catch (error) {
        if (error instanceof ReconciliationBusyError) throw new FailedPreconditionError(error.message);
        throw error;
      }
    },

    async listReconciliationReports(request, ctx) {
      await authorise(ctx, RECONCILERS);
      const limit = valid((p) => {
        const n = request.limit ?? 0;
        if (n < 0 || n > 100) p.add('limit', '0..100');
        return n || 10;
      });
      return { reports: (await reconciler.reports(limit)).map(reportProto) };
    },

    async getImage(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const objectKey = valid((p) => p.text('object_key', request.objectKey, true, 1024));
      const image = await media.get(objectKey);
      // Another compound's image is NOT_FOUND: its key says nothing to an outsider.
      if (!image || !hasCompound(caller, image.compoundId))
        throw new NotFoundError(`image ${objectKey} not found`);
      audit.info(
        {
          audit: 'images-read',
          subject: caller.subject,
          role: caller.role,
          purpose: caller.purpose ?? '',
          compoundId: image.compoundId,
          objectKeys: [objectKey],
        },
        'images read',
      );
      return { image: await imageProto(image, PERSON_SEARCHERS.includes(caller.role)) };
    },

    async getStorageFigures(request, ctx) {
      const caller = await authorise(ctx, FIGURE_READERS);
      const asked = valid((p) =>
        (request.compoundIds ?? []).map((id, i) => p.compound(`compound_ids[${i}]`, id)),
      );
      for (const id of asked) requireCompound(caller, id);
      const scope = asked.length ? { compounds: asked, areas: [] } : compoundScope(caller);
      const [figures, compliance] = await Promise.all([
        media.figures(scope),
        cameras.frontendCompliance(scope),
      ]);
      return {
        figures: figures.map((f) => ({
          compoundId: f.compoundId,
          imageClass: CLASS_TO_PROTO[f.imageClass],
          objects: f.objects,
          bytes: f.bytes,
          oldest: ts(f.oldest),
          newest: ts(f.newest),
        })),
        nonCompliantCameras: compliance.map((c) => ({
          compoundId: c.compoundId,
          cameras: c.nonCompliant,
          total: c.total,
        })),
      };
    },
  });
}
