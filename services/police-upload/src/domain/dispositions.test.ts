import { describe, expect, it } from 'vitest';
import { validateDispositionNotification } from '@anfang/gat1400';
import {
  dispositionObject,
  dispositionQuery,
  dispositionStatus,
  parseDisposition,
  type StoredDisposition,
} from './dispositions.ts';
import { dispositionStatusNotification } from './notifications.ts';

const ID = '370303000000012026112818000000001';

describe('parseDisposition', () => {
  it('reads a plate disposition', () => {
    expect(
      parseDisposition({
        DispositionID: ID,
        TargetFeature: '鲁C·5A7K2',
        PriorityLevel: '1',
        ReceiveAddr: 'http://viid.example/VIID/DispositionNotifications',
        EndTime: '20261231235959',
      }),
    ).toMatchObject({ ok: true, operation: 'set', target: 'plate', feature: '鲁C5A7K2', priority: 1 });
  });

  it('reads a person disposition by ID number', () => {
    expect(
      parseDisposition({
        DispositionID: ID,
        TargetFeature: '370303 199001011239',
        ReceiveAddr: 'http://viid.example/VIID/DispositionNotifications',
      }),
    ).toMatchObject({ ok: true, operation: 'set', target: 'id_number', feature: '370303199001011239' });
  });

  it('reads a withdrawal and refuses what it cannot do', () => {
    expect(parseDisposition({ OperateType: 1 }, ID)).toMatchObject({ ok: true, operation: 'withdraw' });
    expect(parseDisposition({ DispositionID: 'x' })).toMatchObject({ ok: false, code: 8 });
    // A wrong check character is not an ID number.
    expect(
      parseDisposition({ DispositionID: ID, TargetFeature: '370303199001011234', ReceiveAddr: 'http://x' }),
    ).toMatchObject({
      ok: false,
      code: 8,
      reason: 'TargetFeature is not a valid ID number (check character)',
    });
    expect(
      parseDisposition({ DispositionID: ID, TargetFeature: 'abc', ReceiveAddr: 'http://x' }),
    ).toMatchObject({ ok: false, code: 8 });
    expect(
      parseDisposition({ DispositionID: ID, TargetFeature: '鲁C5A7K2', ReceiveAddr: 'ftp://x' }),
    ).toMatchObject({
      ok: false,
    });
  });
});

const stored: StoredDisposition = {
  dispositionId: ID,
  platformId: '37030300005030009001',
  title: '涉案车辆',
  category: '1',
  featureShown: '鲁C5A7K2',
  priority: 1,
  applicantName: '',
  applicantOrg: '',
  reason: '',
  receiveAddr: 'http://upper/VIID/DispositionNotifications',
  withdrawn: false,
  outcome: 'pending',
  outcomeDetail: '',
  endsAt: new Date('2026-12-01T00:00:00Z'),
};
const now = new Date('2026-11-29T00:00:00Z');

describe('disposition status and object', () => {
  it('is in effect unless withdrawn, expired or refused downstream', () => {
    expect(dispositionStatus(stored, now)).toBe('0');
    expect(dispositionStatus({ ...stored, outcome: 'applied' }, now)).toBe('0');
    expect(dispositionStatus({ ...stored, outcome: 'rejected' }, now)).toBe('9');
    expect(dispositionStatus(stored, new Date('2026-12-02T00:00:00Z'))).toBe('2');
    expect(dispositionStatus({ ...stored, withdrawn: true, outcome: 'rejected' }, now)).toBe('1');
  });

  it('answers the standard DispositionObject with Beijing times', () => {
    expect(
      dispositionObject({ ...stored, withdrawn: true, withdrawnAt: new Date('2026-11-28T16:00:00Z') }, now),
    ).toMatchObject({
      DispositionID: ID,
      TargetFeature: '鲁C5A7K2',
      PriorityLevel: 1,
      EndTime: '20261201080000',
      OperateType: 1,
      DispositionStatus: '1',
      DispositionRemoveTime: '20261129000000',
    });
  });

  it('pushes a late result as a valid status notification with a stable id', () => {
    const ctx = { lowerId: '37030300005040000001' };
    const refused = { ...stored, outcome: 'rejected' as const, outcomeDetail: 'no such compound' };
    const a = dispositionStatusNotification('command-1', refused, now, ctx);
    expect(a.targetUrl).toBe(stored.receiveAddr);
    expect(a.body).toMatchObject({ DispositionStatus: '9', Reason: 'no such compound' });
    expect(validateDispositionNotification(a.body)).toEqual([]);
    expect(dispositionStatusNotification('command-1', refused, now, ctx).objectId).toBe(a.objectId);
    expect(dispositionStatusNotification('command-2', refused, now, ctx).objectId).not.toBe(a.objectId);
  });
});

describe('dispositionQuery', () => {
  it('reads conditions and paging', () => {
    expect(
      dispositionQuery(
        new Map([
          ['DispositionStatus', '9'],
          ['TargetFeature', '鲁C·5a7k2'],
          ['RecordStartNo', '11'],
          ['PageRecordNum', '5000'],
        ]),
      ),
    ).toEqual({ status: '9', targetFeature: '鲁C5A7K2', offset: 10, limit: 1000 });
    expect(dispositionQuery(new Map())).toEqual({ offset: 0, limit: 100 });
  });

  it('refuses what it does not understand', () => {
    expect(dispositionQuery(new Map([['Colour', 'red']]))).toEqual({
      failure: 'condition Colour is not supported',
    });
    expect(dispositionQuery(new Map([['DispositionStatus', '5']]))).toHaveProperty('failure');
    expect(dispositionQuery(new Map([['RecordStartNo', '0']]))).toHaveProperty('failure');
  });
});
