import { describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { CsvFileError, parseDeviceCsv } from './csv.ts';

const header =
  'device_id,gat1400_id,name,device_type,module,compound_id,compound_name,building_code,building_name,direction,vendor,model,serial_number,protocol,ip_address,secret';
const csv = (...rows: string[]): Uint8Array => Buffer.from(`\uFEFF${header}\r\n${rows.join('\r\n')}\r\n`);

describe('parseDeviceCsv', () => {
  it('parses valid rows with line numbers, quoted fields and enum names', () => {
    const rows = parseDeviceCsv(
      csv(
        ',37030300001190000001,"南门, 抓拍机",face_capture_camera,face recognition inside,370303001001001,天晓小区,,,,Hikvision,iDS-2CD,SN1,gat1400,,',
        '0190f5a4-7c1b-7cc0-8a4e-1c2d3e4f5a6b,,车库道闸,PLATE_CAMERA,vehicle_access,370303001001001,天晓小区,370303001001001003,3号楼,in,Dahua,ITC,SN2,dahua_itsapi,10.0.0.9,a-very-long-secret-0123',
      ),
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ line: 2, deviceId: '', violations: [] });
    expect(rows[0]!.fields).toMatchObject({
      name: '南门, 抓拍机',
      deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_FACE_CAPTURE_CAMERA,
      module: anfang.common.v1.Module.MODULE_FACE_RECOGNITION_INSIDE,
      protocol: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_GAT1400,
    });
    expect(rows[1]).toMatchObject({
      line: 3,
      deviceId: '0190f5a4-7c1b-7cc0-8a4e-1c2d3e4f5a6b',
      secret: 'a-very-long-secret-0123',
      violations: [],
    });
    expect(rows[1]!.fields.address).toMatchObject({
      code: '370303001001001003',
      building: { code: '370303001001001003', name: '3号楼' },
    });
    expect(rows[1]!.fields.direction).toBe(anfang.common.v1.Direction.DIRECTION_IN);
  });

  it('reports row problems by CSV column, once per problem', () => {
    const rows = parseDeviceCsv(
      csv(
        'not-a-uuid,123,,toaster,pedestrian_access,370303001001001,,,,,,,,generic_http,999.1.1.1,short',
        ',,Only,face_gate,pedestrian_access,370303001001001',
      ),
    );
    expect(rows[0]!.violations).toEqual(
      expect.arrayContaining([
        { field: 'device_type', description: 'unknown value "toaster"' },
        { field: 'gat1400_id', description: 'must be 20 digits' },
        { field: 'name', description: 'required' },
        { field: 'ip_address', description: 'must be an IPv4 or IPv6 address' },
        { field: 'device_id', description: 'must be a lowercase UUID (or empty)' },
        { field: 'secret', description: expect.stringMatching(/16 to 128/) },
      ]),
    );
    expect(rows[0]!.violations.filter((v) => v.field === 'device_type')).toHaveLength(1);
    expect(rows[1]!.violations).toEqual(
      expect.arrayContaining([
        { field: 'row', description: 'has 6 fields, the header has 16' },
        { field: 'protocol', description: expect.stringMatching(/^required/) },
      ]),
    );
  });

  it('refuses unusable files as a whole', () => {
    expect(() => parseDeviceCsv(Buffer.from(''))).toThrow(CsvFileError);
    expect(() => parseDeviceCsv(Buffer.from('name,colour\nx,y\n'))).toThrow(/unknown column\(s\) colour/);
    expect(() => parseDeviceCsv(Buffer.from('name,device_type\nx,y\n'))).toThrow(
      /missing required column\(s\) module, compound_id, protocol/,
    );
    expect(() => parseDeviceCsv(Buffer.from(`${header}\n"unclosed,`))).toThrow(/not valid CSV/);
  });
});
