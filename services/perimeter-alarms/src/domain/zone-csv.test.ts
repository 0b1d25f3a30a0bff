import { describe, expect, it } from 'vitest';
import { CsvFileError } from '@anfang/platform/grpc';
import { parseZoneCsv } from './zone-csv.ts';

const csv = (text: string) => new TextEncoder().encode(text);

describe('parseZoneCsv', () => {
  it('reads rows in any column order, with Chinese kinds and ";"-separated devices', () => {
    const rows = parseZoneCsv(
      csv(
        '\uFEFFname,kind,compound_id,sensor_device_ids\n东侧围墙,围墙,370203001,a; b ;a\n北门管道,pipe,370203001,\n',
      ),
    );
    expect(rows).toEqual([
      {
        line: 2,
        name: '东侧围墙',
        problems: [],
        fields: {
          compoundId: '370203001',
          name: '东侧围墙',
          kind: 'wall',
          sensorDeviceIds: ['a', 'b'],
          cameraDeviceIds: [],
        },
      },
      {
        line: 3,
        name: '北门管道',
        problems: [],
        fields: {
          compoundId: '370203001',
          name: '北门管道',
          kind: 'pipe',
          sensorDeviceIds: [],
          cameraDeviceIds: [],
        },
      },
    ]);
  });

  it('reports each bad row with its line and fields, and a repeated zone on its later line', () => {
    const rows = parseZoneCsv(csv('compound_id,name,kind\n37 02,,moat\nc1,西墙,wall\nc1,西墙,fence\n'));
    expect(rows.map((r) => [r.line, r.fields ? 'ok' : r.problems.map((p) => p.field)])).toEqual([
      [2, ['compound_id', 'name', 'kind']],
      [3, 'ok'],
      [4, ['name']],
    ]);
    expect(rows[2]!.problems[0]!.description).toBe('the same zone as line 3');
  });

  it('refuses a file it cannot read at all', () => {
    expect(() => parseZoneCsv(csv('name,kind\nx,wall\n'))).toThrow(
      /missing required column\(s\) compound_id/,
    );
    expect(() => parseZoneCsv(csv('compound_id,name,kind,colour\n'))).toThrow(CsvFileError);
    expect(() => parseZoneCsv(csv(''))).toThrow(/empty file/);
  });
});
