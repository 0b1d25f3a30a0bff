/**
 * anfang.police.v1.PoliceUploadService: authenticate, check role (police and the district office
 * configure the cascade; they see every compound, as the cascade does), validate, delegate.
 */
import { anfang, PoliceUploadService, timestampFromDate } from '@anfang/contracts';
import { requireRole, type CallerVerifier, type Role } from '@anfang/platform/auth';
import {
  grpcService,
  InvalidArgumentError,
  NotFoundError,
  type CallContext,
  type GrpcService,
} from '@anfang/platform/grpc';
import { isGat1400Id } from '@anfang/gat1400';
import { validatePlatform } from '../domain/platform-input.ts';
import type { OutboxStore } from '../store/outbox.ts';
import type { Platform, PlatformStore, SessionState } from '../store/platforms.ts';
import type { EntitlementStore } from '../store/registry.ts';

/** Who configures the cascade to the upper platform. */
const ADMINS: readonly Role[] = ['police', 'district_admin'];
/** Who retries rejected uploads: the upload sessions are infrastructure, the platform operator's too. */
const OPERATORS: readonly Role[] = [...ADMINS, 'platform_operator'];
/** Who watches upload health (no personal data in it). */
const READERS: readonly Role[] = [...OPERATORS, 'auditor'];
const { SessionState: SessionStateEnum, UploadObjectKind } = anfang.police.v1;

const SESSION = {
  registered: SessionStateEnum.SESSION_STATE_REGISTERED,
  unregistered: SessionStateEnum.SESSION_STATE_UNREGISTERED,
  degraded: SessionStateEnum.SESSION_STATE_DEGRADED,
} as const;

const KIND = {
  faces: UploadObjectKind.UPLOAD_OBJECT_KIND_FACE,
  motorVehicles: UploadObjectKind.UPLOAD_OBJECT_KIND_MOTOR_VEHICLE,
  persons: UploadObjectKind.UPLOAD_OBJECT_KIND_PERSON,
  apes: UploadObjectKind.UPLOAD_OBJECT_KIND_DEVICE,
  doorDevices: UploadObjectKind.UPLOAD_OBJECT_KIND_DEVICE,
  personInfos: UploadObjectKind.UPLOAD_OBJECT_KIND_PERSON_INFO,
  houseInfos: UploadObjectKind.UPLOAD_OBJECT_KIND_HOUSE_INFO,
  carInfos: UploadObjectKind.UPLOAD_OBJECT_KIND_CAR_INFO,
} as Readonly<Record<string, number>>;

const ts = (d: Date | undefined) => (d ? timestampFromDate(d) : null);

export function policeUploadGrpcService(deps: {
  readonly verifier: CallerVerifier;
  readonly platforms: PlatformStore;
  /** Stores a platform and back-fills what it is newly entitled to. */
  readonly entitlements: Pick<EntitlementStore, 'update'>;
  readonly outbox: OutboxStore;
  /** The live session of a platform on this replica, when it holds one. */
  readonly liveState: (platformId: string) => SessionState | undefined;
  /** Platforms changed: reconnect now. */
  readonly changed: () => Promise<void>;
}): GrpcService<typeof PoliceUploadService.definition> {
  async function authorise(ctx: CallContext, roles: readonly Role[]) {
    const caller = await deps.verifier.verify(ctx.metadata);
    requireRole(caller, ...roles);
    return caller;
  }
  const platformId = (value: string | null | undefined): string => {
    if (!isGat1400Id(value ?? ''))
      throw new InvalidArgumentError('platform_id must be 20 digits', [
        { field: 'platform_id', description: 'the 20-digit GA/T 1400 id' },
      ]);
    return value!;
  };
  async function status(p: Platform) {
    const s = deps.liveState(p.platformId) ?? (await deps.platforms.session(p.platformId));
    return {
      platform: {
        ...p,
        objectKinds: [...p.objectKinds],
        compounds: [...p.compounds],
        extensions: [...p.extensions],
      },
      session: {
        state: SESSION[s.state],
        registeredAt: ts(s.registeredAt),
        lastKeepaliveAt: ts(s.lastKeepaliveAt),
        lastFailureAt: ts(s.lastFailureAt),
        failures: s.failures,
        lastError: s.lastError,
        clockOffsetMs: s.clockOffsetMs ?? 0,
        clockCheckedAt: ts(s.clockCheckedAt),
      },
    };
  }

  return grpcService(PoliceUploadService.definition, {
    async listPlatforms(_request, ctx) {
      await authorise(ctx, READERS);
      return { platforms: await Promise.all((await deps.platforms.list()).map(status)) };
    },
    async getPlatform(request, ctx) {
      await authorise(ctx, READERS);
      const p = await deps.platforms.get(platformId(request.platformId));
      if (!p) throw new NotFoundError(`platform ${request.platformId} is not configured`);
      return { platform: await status(p) };
    },
    async updatePlatform(request, ctx) {
      const caller = await authorise(ctx, ADMINS);
      const r = validatePlatform(request.platform ?? {});
      if ('violations' in r) throw new InvalidArgumentError('the platform is not valid', r.violations);
      const { platform: stored } = await deps.entitlements.update(r.platform, caller.subject);
      await deps.changed();
      return { platform: await status(stored) };
    },
    async getBacklog(request, ctx) {
      await authorise(ctx, READERS);
      const rows = await deps.outbox.backlog(request.platformId ? platformId(request.platformId) : undefined);
      const now = Date.now();
      return {
        entries: rows.map((b) => ({
          platformId: b.platformId,
          compoundId: b.compoundId,
          backlog: b.backlog,
          oldestPendingAgeMs: b.oldestEnqueuedAt ? now - b.oldestEnqueuedAt.getTime() : 0,
        })),
      };
    },
    async listDeadLetters(request, ctx) {
      await authorise(ctx, READERS);
      const limit = Math.min(1000, Math.max(1, request.limit || 100));
      const rows = await deps.outbox.deadLetters(platformId(request.platformId), limit);
      return {
        deadLetters: rows.map((d) => ({
          ...d,
          objectKind: KIND[d.kind] ?? UploadObjectKind.UPLOAD_OBJECT_KIND_UNSPECIFIED,
          rejectedAt: ts(d.rejectedAt),
        })),
      };
    },
    async retryDeadLetters(request, ctx) {
      await authorise(ctx, OPERATORS);
      const ids = request.ids ?? [];
      if (ids.some((id) => !/^\d{1,18}$/.test(id)))
        throw new InvalidArgumentError('ids must be dead-letter ids', [
          { field: 'ids', description: 'numeric ids' },
        ]);
      return { retried: await deps.outbox.retryDeadLetters(platformId(request.platformId), ids) };
    },
  });
}
