/**
 * Consumes the device registry, device status, upload health, video-index's storage reports and
 * patrol's reports (one group, the service name)
 * and rescores the compounds each event touches, in one transaction with the event's mark in
 * processed_events: a redelivered event changes nothing. A message that cannot mean anything (no
 * device id, no compound) goes to the DLQ with the reason; database failures are retried.
 *
 * The same subscription (one group must subscribe once) reads the capture topics of gates and
 * door terminals, only to note that their devices produce data: a sighting is a map update here,
 * written in batches by the timed evidence.
 */
import { anfang, topics } from '@anfang/contracts';
import { PermanentError, consume, fromTimestamp, type Bus, type Subscription } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { markProcessed, withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
import {
  applyDeviceState,
  applyDeviceStatus,
  applyPatrolReport,
  applyStorageReport,
  applyUploadHealth,
} from '../store/evidence.ts';
import type { Scorer } from '../store/scores.ts';
import type { TimedEvidence } from './timed-evidence.ts';

const { DeviceLifecycle, DeviceStatus } = anfang.device.v1;

export interface EvidenceConsumerDeps {
  readonly bus: Bus;
  readonly pool: Pool;
  readonly scorer: Scorer;
  readonly logger: Logger;
  readonly group: string;
  readonly start: 'earliest' | 'latest';
  readonly timed: TimedEvidence;
}

export const EVIDENCE_TOPICS = [
  topics.deviceRegistry,
  topics.deviceStatusChanged,
  topics.policeUploadHealth,
  topics.videoStorageEvidence,
  topics.patrolEvidence,
] as const;

/** Events of the devices whose data must keep coming (DATA_MODULES): they carry `device` (field 2). */
export const DATA_TOPICS = [
  topics.deviceFaceCaptured,
  topics.deviceCredentialPresented,
  topics.devicePlateRead,
] as const;
const DATA_TOPIC_NAMES: ReadonlySet<string> = new Set(DATA_TOPICS.map((t) => t.name));

type Apply = (tx: ClientBase) => Promise<string[]>;

export function startEvidenceConsumer(deps: EvidenceConsumerDeps): Promise<Subscription> {
  const log = deps.logger.child({ component: 'evidence-consumer' });
  return consume(deps.bus, {
    group: deps.group,
    topics: [...EVIDENCE_TOPICS, ...DATA_TOPICS],
    start: deps.start,
    handler: async (event, message) => {
      const at = (ts: Parameters<typeof fromTimestamp>[0]) =>
        new Date(fromTimestamp(ts) ?? message.timestamp);
      if (DATA_TOPIC_NAMES.has(event.topic.name)) {
        const deviceId = (event.payload as { device?: { deviceId?: string | null } | null }).device?.deviceId;
        if (!deviceId) throw new PermanentError(`${event.topic.name} without device.device_id`);
        // The platform's receive time: a device clock may be off.
        deps.timed.seen(deviceId, at(event.meta.recordedAt));
        return;
      }
      let apply: Apply;
      switch (event.topic.name) {
        case topics.deviceRegistry.name: {
          const device = (event.payload as anfang.device.v1.DeviceChanged).device;
          if (!device?.deviceId) throw new PermanentError('DeviceChanged without device.device_id');
          const state = {
            deviceId: device.deviceId,
            compoundId: device.compoundId ?? '',
            module: device.module ?? 0,
            buildingCode: device.address?.building?.code ?? '',
            active: device.lifecycle === DeviceLifecycle.DEVICE_LIFECYCLE_ACTIVE,
            revision: Number(device.revision ?? 0),
          };
          apply = (tx) => applyDeviceState(tx, state);
          break;
        }
        case topics.deviceStatusChanged.name: {
          const change = event.payload as anfang.device.v1.DeviceStatusChanged;
          if (!change.device?.deviceId)
            throw new PermanentError('DeviceStatusChanged without device.device_id');
          if (
            change.status !== DeviceStatus.DEVICE_STATUS_ONLINE &&
            change.status !== DeviceStatus.DEVICE_STATUS_OFFLINE
          )
            throw new PermanentError(`DeviceStatusChanged with status ${change.status ?? 'unset'}`);
          const status = {
            deviceId: change.device.deviceId,
            compoundId: event.meta.compoundId ?? '',
            module: change.device.module ?? 0,
            online: change.status === DeviceStatus.DEVICE_STATUS_ONLINE,
            at: at(event.meta.occurredAt),
          };
          apply = (tx) => applyDeviceStatus(tx, status);
          break;
        }
        case topics.videoStorageEvidence.name: {
          const report = event.payload as anfang.video.v1.StorageEvidenceReported;
          if (!report.compoundId) throw new PermanentError('StorageEvidenceReported without compound_id');
          const storage = {
            compoundId: report.compoundId,
            backendRetentionDays: report.backendRetentionDays ?? 0,
            retentionEnforced: report.retentionEnforced === true,
            zones: (report.zones ?? []).map((z) => ({
              module: z.module ?? 0,
              cameras: z.cameras ?? 0,
              frontendCompliant: z.frontendCompliant ?? 0,
              shortestFrontendDays: z.shortestFrontendDays ?? 0,
            })),
            at: at(event.meta.occurredAt),
          };
          apply = (tx) => applyStorageReport(tx, storage);
          break;
        }
        case topics.patrolEvidence.name: {
          const report = event.payload as anfang.patrol.v1.PatrolEvidenceReported;
          if (!report.compoundId) throw new PermanentError('PatrolEvidenceReported without compound_id');
          const patrol = {
            compoundId: report.compoundId,
            routes: report.routes ?? 0,
            checkpoints: report.checkpoints ?? 0,
            windowHours: report.windowHours ?? 0,
            roundsDue: report.roundsDue ?? 0,
            roundsCompleted: report.roundsCompleted ?? 0,
            at: at(event.meta.occurredAt),
          };
          apply = (tx) => applyPatrolReport(tx, patrol);
          break;
        }
        default: {
          const report = event.payload as anfang.police.v1.UploadHealthReported;
          const compoundId = report.compoundId || event.meta.compoundId;
          if (!compoundId) throw new PermanentError('UploadHealthReported without compound_id');
          const health = {
            compoundId,
            platformId: report.platformId ?? '',
            realTime: report.realTime === true,
            at: at(event.meta.occurredAt),
          };
          apply = (tx) => applyUploadHealth(tx, health);
        }
      }
      const rescored = await withTransaction(deps.pool, async (tx) => {
        if (event.eventId && !(await markProcessed(tx, deps.group, event.eventId))) return [];
        const compounds = await apply(tx);
        const scores = [];
        for (const compoundId of compounds)
          scores.push(await deps.scorer.rescore(tx, compoundId, event.eventId));
        return scores;
      });
      for (const score of rescored)
        if (score)
          log.debug({ compoundId: score.compoundId, level: score.level, eventId: event.eventId }, 'rescored');
    },
  });
}
