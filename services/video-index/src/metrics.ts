/**
 * Storage figures as gauges — `anfang_video_objects` and `anfang_video_bytes` per compound and
 * class, `anfang_video_cameras_frontend_non_compliant` per compound — read from Postgres (where
 * every replica's writes meet) and cached for a scrape interval; plus counters of what this
 * replica indexed and deleted. Every replica reports the same gauges: aggregate with `max`.
 */
import { metrics, type ObservableResult } from '@opentelemetry/api';
import type { Logger } from '@anfang/platform/log';
import type { CameraStore } from './store/cameras.ts';
import type { MediaStore, StorageFigure } from './store/media.ts';

export interface VideoCounters {
  indexed(rows: number): void;
  deleted(objects: number, reason: string): void;
  foreignKeys(count: number): void;
}

export function registerVideoMetrics(
  deps: { media: Pick<MediaStore, 'figures'>; cameras: Pick<CameraStore, 'frontendCompliance'> },
  logger: Logger,
  maxAgeMs = 15_000,
): VideoCounters & { close(): void } {
  const meter = metrics.getMeter('anfang-video-index');
  const objects = meter.createObservableGauge('anfang.video.objects', {
    description: 'Indexed images per compound and class',
  });
  const bytes = meter.createObservableGauge('anfang.video.bytes', {
    description: 'Bytes of indexed images per compound and class',
    unit: 'By',
  });
  const nonCompliant = meter.createObservableGauge('anfang.video.cameras.frontend_non_compliant', {
    description: 'Cameras whose front-end storage is below 7 days or not reported, per compound',
  });
  const indexed = meter.createCounter('anfang.video.indexed', {
    description: 'Index rows written (new images)',
  });
  const deleted = meter.createCounter('anfang.video.deleted', { description: 'Images deleted, by reason' });
  const foreign = meter.createCounter('anfang.video.foreign_keys', {
    description: 'Image references outside the governed folder, not indexed',
  });

  let cached:
    | {
        at: number;
        figures: StorageFigure[];
        compliance: Awaited<ReturnType<CameraStore['frontendCompliance']>>;
      }
    | undefined;
  const read = async () => {
    if (cached && Date.now() - cached.at < maxAgeMs) return cached;
    try {
      const [figures, compliance] = await Promise.all([
        deps.media.figures(undefined),
        deps.cameras.frontendCompliance(undefined),
      ]);
      cached = { at: Date.now(), figures, compliance };
    } catch (err) {
      logger.warn({ err }, 'video metrics not read');
    }
    return cached ?? { at: 0, figures: [], compliance: [] };
  };
  const onObjects = async (result: ObservableResult) => {
    for (const f of (await read()).figures)
      result.observe(f.objects, { compound_id: f.compoundId, image_class: f.imageClass });
  };
  const onBytes = async (result: ObservableResult) => {
    for (const f of (await read()).figures)
      result.observe(f.bytes, { compound_id: f.compoundId, image_class: f.imageClass });
  };
  const onNonCompliant = async (result: ObservableResult) => {
    for (const c of (await read()).compliance) result.observe(c.nonCompliant, { compound_id: c.compoundId });
  };
  objects.addCallback(onObjects);
  bytes.addCallback(onBytes);
  nonCompliant.addCallback(onNonCompliant);
  return {
    indexed: (rows) => indexed.add(rows),
    deleted: (n, reason) => deleted.add(n, { reason }),
    foreignKeys: (n) => foreign.add(n),
    close() {
      objects.removeCallback(onObjects);
      bytes.removeCallback(onBytes);
      nonCompliant.removeCallback(onNonCompliant);
    },
  };
}
