/**
 * anfang.device.v1.DeviceRegistryService: authenticate the caller, check role and compound scope,
 * decode, validate the request's shape, delegate to the registry store; domain errors carry field
 * violations and reasons to the caller.
 *
 * Who may do what: installers (district office, property staff, provisioning services) manage
 * devices of the compounds in their scope; police, community managers and guards also read them.
 */
import { anfang, DeviceRegistryService, timestampFromDate } from '@anfang/contracts';
import {
  InvalidArgumentError,
  NotFoundError,
  grpcService,
  parseCsvUpload,
  type CallContext,
  type FieldViolation,
  type GrpcService,
} from '@anfang/platform/grpc';
import {
  compoundScope,
  hasCompound,
  requireCompound,
  requireRole,
  type Caller,
  type CallerVerifier,
  type Role,
} from '@anfang/platform/auth';
import type { Logger } from '@anfang/platform/log';
import { parseDeviceCsv } from '../domain/csv.ts';
import { isDeviceId, parseMask, secretViolation, type Lifecycle } from '../domain/registry.ts';
import { deviceToProto } from '../domain/registry-proto.ts';
import { reportedStatus, type StatusPolicy } from '../domain/status.ts';
import type { ActivityStore } from '../store/activity.ts';
import type { ImportOutcome, RegistryStore } from '../store/registry.ts';

const { DeviceLifecycle, DeviceStatus, DeviceChangeKind, ClockDriftSeverity } = anfang.device.v1;

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Progress messages at most this often (and every PROGRESS_EVERY_ROWS rows). */
const PROGRESS_INTERVAL_MS = 250;
const PROGRESS_EVERY_ROWS = 100;

export interface RegistryServiceDeps {
  readonly registry: RegistryStore;
  readonly activity: ActivityStore;
  readonly policy: StatusPolicy;
  readonly logger: Logger;
  readonly callers: CallerVerifier;
  readonly now?: () => Date;
}

/** Devices are infrastructure: the platform operator keeps them too (they hold no personal data). */
const MANAGE: readonly Role[] = ['district_admin', 'property_staff', 'platform_operator', 'service'];
const READ: readonly Role[] = [
  ...MANAGE,
  'police',
  'street_officer',
  'community_manager',
  'guard',
  'auditor',
];

const SEVERITY = {
  ok: ClockDriftSeverity.CLOCK_DRIFT_SEVERITY_OK,
  warning: ClockDriftSeverity.CLOCK_DRIFT_SEVERITY_WARNING,
  alarm: ClockDriftSeverity.CLOCK_DRIFT_SEVERITY_ALARM,
} as const;

function requireDeviceId(value: string | null | undefined, field = 'device_id'): string {
  const id = (value ?? '').trim();
  if (!isDeviceId(id))
    throw new InvalidArgumentError(`${field} must be a device id (lowercase UUID)`, [
      { field, description: id ? 'not a lowercase UUID' : 'required' },
    ]);
  return id;
}

function lifecycleOf(value: number | null | undefined): Lifecycle | undefined {
  if (value === DeviceLifecycle.DEVICE_LIFECYCLE_ACTIVE) return 'active';
  if (value === DeviceLifecycle.DEVICE_LIFECYCLE_DECOMMISSIONED) return 'decommissioned';
  return undefined;
}

export function registryGrpcService(
  deps: RegistryServiceDeps,
): GrpcService<typeof DeviceRegistryService.definition> {
  const { registry, activity, policy, callers } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ component: 'registry-grpc' });

  const caller = async (ctx: CallContext, roles: readonly Role[]): Promise<Caller> => {
    const who = await callers.verify(ctx.metadata);
    requireRole(who, ...roles);
    return who;
  };
  /** The device, if it exists and is in the caller's scope (PermissionDenied when it is not). */
  const deviceInScope = async (who: Caller, deviceId: string) => {
    const device = await registry.get(deviceId);
    if (!device) throw new NotFoundError(`device ${deviceId} not found`, { reason: 'DEVICE_NOT_FOUND' });
    requireCompound(who, device.compoundId);
    return device;
  };

  async function* importDevices(
    request: anfang.device.v1.ImportDevicesRequest,
    ctx: CallContext,
  ): AsyncGenerator<anfang.device.v1.ImportDevicesResponse.$Properties> {
    const who = await caller(ctx, MANAGE);
    const rows = parseCsvUpload(request.csv, parseDeviceCsv);
    const total = rows.length;
    const counts = { processed: 0, created: 0, updated: 0, unchanged: 0, failed: 0 };
    const errors: anfang.device.v1.ImportRowError.$Properties[] = [];
    const imported: anfang.device.v1.ImportedDevice.$Properties[] = [];
    let lastProgress = Date.now();
    yield { ...counts, total };

    for (const row of rows) {
      if (ctx.signal.aborted) return;
      const ref = row.deviceId || row.fields.gat1400Id;
      if (row.violations.length > 0) {
        counts.failed++;
        errors.push({ line: row.line, deviceRef: ref, violations: row.violations });
      } else if (!hasCompound(who, row.fields.compoundId)) {
        counts.failed++;
        errors.push({
          line: row.line,
          deviceRef: ref,
          violations: [{ field: 'compound_id', description: "outside the caller's compounds" }],
        });
      } else {
        try {
          const outcome: ImportOutcome = await registry.importRow(row);
          counts[outcome.kind]++;
          imported.push({
            line: row.line,
            deviceId: outcome.device.deviceId,
            change:
              outcome.kind === 'created'
                ? DeviceChangeKind.DEVICE_CHANGE_KIND_CREATED
                : DeviceChangeKind.DEVICE_CHANGE_KIND_UPDATED,
            changed: outcome.kind !== 'unchanged',
            secret: outcome.kind === 'created' ? outcome.generatedSecret : '',
          });
        } catch (error) {
          // Domain refusals (conflicts, decommissioned) are the row's problem; anything else too,
          // but it is logged as ours.
          const message = error instanceof Error && 'grpcCode' in error ? error.message : 'internal error';
          if (message === 'internal error') log.error({ err: error, line: row.line }, 'import row failed');
          counts.failed++;
          errors.push({
            line: row.line,
            deviceRef: ref,
            violations: [{ field: 'row', description: message }],
          });
        }
      }
      counts.processed++;
      if (counts.processed % PROGRESS_EVERY_ROWS === 0 || Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
        lastProgress = Date.now();
        yield { ...counts, total };
      }
    }
    log.info({ ...counts, total }, 'device import finished');
    yield { ...counts, total, done: true, errors, imported };
  }

  return grpcService(DeviceRegistryService.definition, {
    async registerDevice(request, ctx) {
      requireCompound(await caller(ctx, MANAGE), (request.device?.compoundId ?? '').trim());
      const violations: FieldViolation[] = [];
      const given = (request.device?.deviceId ?? '').trim();
      if (given && !isDeviceId(given))
        violations.push({
          field: 'device.device_id',
          description: 'must be a lowercase UUID, or empty to have one generated',
        });
      const secretProblem = request.secret ? secretViolation(request.secret) : undefined;
      if (secretProblem) violations.push(secretProblem);
      if (violations.length > 0)
        throw new InvalidArgumentError('invalid device', violations, { reason: 'DEVICE_INVALID' });
      const { device, secret } = await registry.register(request.device ?? {}, {
        ...(given ? { deviceId: given } : {}),
        ...(request.secret ? { secret: request.secret } : {}),
      });
      log.info({ deviceId: device.deviceId, compoundId: device.compoundId }, 'device registered');
      return { device: deviceToProto(device), secret };
    },

    async updateDevice(request, ctx) {
      const who = await caller(ctx, MANAGE);
      const deviceId = requireDeviceId(request.device?.deviceId, 'device.device_id');
      const { mask, violations } = parseMask(request.updateMask?.paths ?? []);
      if (violations.length > 0) throw new InvalidArgumentError('invalid update_mask', violations);
      await deviceInScope(who, deviceId);
      // Moving a device to another compound needs that compound in scope too.
      if (mask.includes('compound_id')) requireCompound(who, (request.device?.compoundId ?? '').trim());
      const device = await registry.update(
        deviceId,
        request.device ?? {},
        mask,
        Number(request.expectedRevision ?? 0),
      );
      return { device: deviceToProto(device) };
    },

    async decommissionDevice(request, ctx) {
      const who = await caller(ctx, MANAGE);
      const deviceId = requireDeviceId(request.deviceId);
      await deviceInScope(who, deviceId);
      const reason = (request.reason ?? '').trim();
      if (reason.length > 500)
        throw new InvalidArgumentError('reason too long', [
          { field: 'reason', description: 'at most 500 characters' },
        ]);
      const device = await registry.decommission(deviceId, reason);
      log.info({ deviceId }, 'device decommissioned');
      return { device: deviceToProto(device) };
    },

    async getDevice(request, ctx) {
      const who = await caller(ctx, READ);
      const device = await deviceInScope(who, requireDeviceId(request.deviceId));
      return { device: deviceToProto(device) };
    },

    async listDevices(request, ctx) {
      const who = await caller(ctx, READ);
      const compoundId = request.compoundId?.trim();
      if (compoundId) requireCompound(who, compoundId);
      const scope = compoundScope(who);
      const requested = request.page?.pageSize ?? 0;
      if (requested < 0)
        throw new InvalidArgumentError('invalid page size', [
          { field: 'page.page_size', description: 'must not be negative' },
        ]);
      const pageSize = Math.min(requested || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const lifecycle = lifecycleOf(request.lifecycle);
      const page = await registry.list(
        {
          ...(compoundId ? { compoundId } : {}),
          ...(scope ? { scope } : {}),
          ...(request.deviceType ? { deviceType: request.deviceType } : {}),
          ...(request.module ? { module: request.module } : {}),
          ...(lifecycle ? { lifecycle } : {}),
          ...(request.protocol ? { protocol: request.protocol } : {}),
          ...(request.text?.trim() ? { text: request.text.trim() } : {}),
        },
        pageSize,
        request.page?.pageToken ?? '',
      );
      return {
        devices: page.devices.map(deviceToProto),
        page: { nextPageToken: page.nextPageToken, totalSize: page.totalSize },
      };
    },

    async getDeviceStatus(request, ctx) {
      const who = await caller(ctx, READ);
      const deviceId = requireDeviceId(request.deviceId);
      const device = await deviceInScope(who, deviceId);
      const row = await activity.get(deviceId);
      const online = reportedStatus(device.lifecycle === 'active', row, now(), policy) === 'online';
      return {
        deviceId,
        lifecycle: deviceToProto(device).lifecycle ?? 0,
        status: online ? DeviceStatus.DEVICE_STATUS_ONLINE : DeviceStatus.DEVICE_STATUS_OFFLINE,
        ...(row ? { lastSeenAt: timestampFromDate(row.lastSeenAt) } : {}),
        clockOffsetKnown: row?.clockOffsetMs != null,
        // device − platform, as stored (src/domain/clock.ts).
        clockOffsetMs: row?.clockOffsetMs ?? 0,
        ...(row?.clockSampledAt ? { clockMeasuredAt: timestampFromDate(row.clockSampledAt) } : {}),
        clockDriftSeverity: row
          ? SEVERITY[row.clockSeverity]
          : ClockDriftSeverity.CLOCK_DRIFT_SEVERITY_UNSPECIFIED,
      };
    },

    importDevices,

    async rotateDeviceSecret(request, ctx) {
      const who = await caller(ctx, MANAGE);
      const deviceId = requireDeviceId(request.deviceId);
      await deviceInScope(who, deviceId);
      const secretProblem = request.secret ? secretViolation(request.secret) : undefined;
      if (secretProblem) throw new InvalidArgumentError('invalid secret', [secretProblem]);
      const { device, secret } = await registry.rotateSecret(deviceId, request.secret || undefined);
      log.info({ deviceId }, 'device secret rotated');
      return { device: deviceToProto(device), secret };
    },
  });
}
