import { describe, expect, it } from 'vitest';
import { CsvFileError } from '@anfang/platform/grpc';
import { parseCameraCsv } from './camera-csv.ts';

const csv = (text: string) => new TextEncoder().encode(text);

describe('parseCameraCsv', () => {
  it('reads good rows and reports each bad one with its fields', () => {
    const rows = parseCameraCsv(
      csv(
        [
          'compound_id,name,zone_group,rtsp_url,gb28181_id,frontend_storage_days',
          '370303001001001,东门,公共区域,rtsp://10.0.0.1/main,37030300001320000001,30',
          '370303001001001,西门,nowhere,http://x,123,-1',
          '370303001001001,北门,key_rooms,rtsp://admin:secret@10.0.0.2/s,,',
          '370303001001001,东门,buildings,,,',
        ].join('\n'),
      ),
    );
    expect(rows[0]!.fields).toMatchObject({
      zoneGroup: 'public_areas',
      frontendStorageDays: 30,
      gb28181Id: '37030300001320000001',
    });
    expect(rows[1]!.problems.map((p) => p.field).sort()).toEqual([
      'frontend_storage_days',
      'gb28181_id',
      'rtsp_url',
      'zone_group',
    ]);
    expect(rows[2]!.problems).toEqual([{ field: 'rtsp_url', description: 'without user name or password' }]);
    expect(rows[3]!.problems).toEqual([{ field: 'name', description: 'the same camera as line 2' }]);
  });
  it('refuses a file without the required columns', () => {
    expect(() => parseCameraCsv(csv('compound_id,name\n1,a'))).toThrow(CsvFileError);
  });
});
