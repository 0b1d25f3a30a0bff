/**
 * Sizes nobody reported are asked of the store lazily, off the ingest path: a batch of unsized
 * rows, HEAD requests a few at a time, one UPDATE. A row whose object is gone is left to
 * reconciliation (it removes rows without objects).
 */
import type { ObjectStore } from '@anfang/platform/objects';
import type { MediaStore } from '../store/media.ts';

const BATCH = 200;
const PARALLEL = 8;

export async function enrichSizes(
  media: MediaStore,
  objects: ObjectStore,
  signal?: AbortSignal,
): Promise<number> {
  const rows = await media.unsized(BATCH);
  const sizes: { objectKey: string; capturedAt: Date; sizeBytes: number }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < rows.length && !signal?.aborted) {
      const row = rows[next++]!;
      const info = await objects.stat(row.objectKey.slice(objects.prefix.length));
      if (info) sizes.push({ ...row, sizeBytes: info.size });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, rows.length) }, worker));
  await media.setSizes(sizes);
  return sizes.length;
}
