/**
 * Operator view of device status, on the service's own HTTP app (HTTP_PORT, beside /healthz,
 * /readyz, /metrics — not on the device listener):
 *
 *   GET /status/devices[?compound=<compound id>]
 *   → { compounds: [{ compoundId, online, offline,
 *                     devices: [{ deviceId, name, deviceType, status, lastSeenAt, clockOffsetMs }] }] }
 *
 * Active devices of the registry (registration order within a compound; compounds by id), each
 * with the status of device_activity as GetDeviceStatus reports it (src/domain/status.ts
 * `reportedStatus`: never online past its silence timeout). `deviceType` is the proto enum name,
 * `lastSeenAt` ISO 8601 or null (never seen), `clockOffsetMs` device − platform or null.
 */
import type { Request, Response, Router } from 'express';
import { anfang } from '@anfang/contracts';
import { reportedStatus, type DeviceStatus, type StatusPolicy } from '../domain/status.ts';
import type { ActivityStore } from '../store/activity.ts';
import type { RegistryStore } from '../store/registry.ts';

export interface DeviceStatusEntry {
  readonly deviceId: string;
  readonly name: string;
  readonly deviceType: string;
  readonly status: DeviceStatus;
  readonly lastSeenAt: string | null;
  readonly clockOffsetMs: number | null;
}

export interface CompoundStatus {
  readonly compoundId: string;
  readonly online: number;
  readonly offline: number;
  readonly devices: DeviceStatusEntry[];
}

export interface DeviceStatusReport {
  readonly compounds: CompoundStatus[];
}

export interface DeviceStatusDeps {
  readonly registry: RegistryStore;
  readonly activity: ActivityStore;
  readonly policy: StatusPolicy;
  readonly now?: () => Date;
}

const PAGE_SIZE = 1000;
const DEVICE_TYPE_NAMES = anfang.common.v1.DeviceType as unknown as Record<number, string>;

/** The report, over every active device (or one compound's). */
export async function deviceStatusReport(
  deps: DeviceStatusDeps,
  compoundId?: string,
): Promise<DeviceStatusReport> {
  const now = (deps.now ?? (() => new Date()))();
  const byCompound = new Map<string, { online: number; offline: number; devices: DeviceStatusEntry[] }>();
  let pageToken = '';
  do {
    const page = await deps.registry.list(
      { lifecycle: 'active', ...(compoundId ? { compoundId } : {}) },
      PAGE_SIZE,
      pageToken,
    );
    const rows = new Map(
      (await deps.activity.list(page.devices.map((d) => d.deviceId))).map((r) => [r.deviceId, r]),
    );
    for (const device of page.devices) {
      const row = rows.get(device.deviceId);
      const status = reportedStatus(true, row, now, deps.policy);
      let compound = byCompound.get(device.compoundId);
      if (!compound) {
        compound = { online: 0, offline: 0, devices: [] };
        byCompound.set(device.compoundId, compound);
      }
      compound[status]++;
      compound.devices.push({
        deviceId: device.deviceId,
        name: device.name,
        deviceType: DEVICE_TYPE_NAMES[device.deviceType] ?? String(device.deviceType),
        status,
        lastSeenAt: row ? row.lastSeenAt.toISOString() : null,
        clockOffsetMs: row?.clockOffsetMs ?? null,
      });
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return {
    compounds: [...byCompound.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, c]) => ({ compoundId: id, ...c })),
  };
}

/** Registers GET /status/devices on the service's HTTP router (createHttpApp `routes`). */
export function deviceStatusRoutes(deps: DeviceStatusDeps): (router: Router) => void {
  return (router) => {
    router.get('/status/devices', async (req: Request, res: Response) => {
      const compound = req.query.compound;
      if (
        compound !== undefined &&
        (typeof compound !== 'string' || !/^[0-9A-Za-z_-]{1,64}$/.test(compound))
      ) {
        res.status(400).json({ error: 'invalid_argument', detail: 'compound must be one compound id' });
        return;
      }
      const report = await deviceStatusReport(deps, compound);
      res.set('cache-control', 'no-store').json(report);
    });
  };
}
