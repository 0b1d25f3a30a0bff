/**
 * Reconciliation against the real S3 store and Postgres: an object no event announced is indexed
 * from its key (or deleted by policy), a row whose object is gone is removed; both are logged and
 * reported.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermissionDeniedError } from '@anfang/platform/grpc';
import { waitFor } from '@anfang/testing';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('video-reconcile');
});
afterAll(async () => {
  await h?.close();
});

describe('reconciliation', () => {
  it('indexes objects without rows and removes rows without objects, with a report', async () => {
    const at = new Date(Date.now() - 3_600_000);
    const announced = await h.putImage({ deviceId: 'cam-r', at });
    const vanished = await h.putImage({ deviceId: 'cam-r', at });
    await h.faceCaptured({ deviceId: 'cam-r', at, keys: [announced, vanished] });
    await waitFor(async () => (await h.rows(announced)) && (await h.rows(vanished)), { timeoutMs: 30_000 });
    const unannounced = await h.putImage({ deviceId: 'cam-r', at, eventId: randomUUID() });
    await h.images.delete([vanished.slice('device-ingest/'.length)]);
    await h.images.put('captures/not-a-capture-key', Buffer.from('?'));

    await expect(h.client.runReconciliation({}, { metadata: h.manager })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    const report = await h.reconciler.run(new Date(Date.now() + 1000));
    expect(report.error).toBe('');
    expect(report.orphanObjects).toBe(2);
    expect(report.objectsIndexed).toBe(1);
    expect(report.objectsDeleted).toBe(1);
    // Other test files' events reach this service too (shared topics); their objects live in
    // other buckets, so their rows count as missing here as well.
    expect(report.missingObjects).toBeGreaterThanOrEqual(1);
    expect(report.rowsRemoved).toBe(report.missingObjects);
    expect(report.sampleMissingKeys).toContain(vanished);

    expect(await h.rows(unannounced)).toBe(1);
    expect(await h.rows(vanished)).toBe(0);
    expect(await h.images.stat('captures/not-a-capture-key')).toBeNull();
    const { rows } = await h.sql.query(
      'SELECT reason FROM deletions WHERE object_key = ANY($1) ORDER BY reason',
      [[vanished, 'device-ingest/captures/not-a-capture-key']],
    );
    expect(rows.map((r) => r.reason)).toEqual(['missing_object', 'orphan_object']);

    // A second pass finds nothing left to repair; both reports are listed.
    const { report: again } = await h.client.runReconciliation({}, { metadata: h.admin });
    expect(again).toMatchObject({ orphanObjects: 0 });
    expect(again?.sampleMissingKeys).not.toContain(vanished);
    const { reports } = await h.client.listReconciliationReports({}, { metadata: h.admin });
    // The first pass ran with a clock one second ahead: order by start time, not by call.
    expect(reports.map((r) => r.runId).sort()).toEqual([again!.runId, report.runId].sort());
  });
});
