import { describe, expect, it } from 'vitest';
import { parseDisposition } from './dispositions.ts';

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
