import { reflectionRoot } from '@anfang/contracts';
import { describe, expect, it } from 'vitest';
import { carriesPersonalData, maskJson } from './masking.ts';

const root = reflectionRoot();

describe('masking by message type', () => {
  it('masks ID numbers, phones and the names of people, and leaves other names', () => {
    const Person = root.lookupType('anfang.identity.v1.Person');
    const person = Person.fieldsArray.map((f) => f.name);
    expect(person).toEqual(expect.arrayContaining(['name', 'idNumber', 'phone']));
    const masked = maskJson(Person, { name: '张三丰', idNumber: '370303199001011234', phone: '13812345678' });
    expect(masked).toMatchObject({ name: '张**', idNumber: '370***********1234', phone: '138****5678' });
    const Zone = root.lookupType('anfang.alarm.v1.Zone');
    expect(maskJson(Zone, { name: '南侧围墙' })).toEqual({ name: '南侧围墙' });
  });

  it('masks inside nested and repeated messages, and keeps masked values as they are', () => {
    const Found = root.lookupType('anfang.identity.v1.FindPersonsResponse');
    const list = Found.fieldsArray.find((f) => f.repeated && f.resolvedType?.name === 'Person');
    expect(list).toBeDefined();
    const out = maskJson(Found, { [list!.name]: [{ phone: '13812345678' }, { phone: '138****5678' }] });
    expect(out[list!.name]).toEqual([{ phone: '138****5678' }, { phone: '138****5678' }]);
  });

  it('masks a person name wherever it is, and not the names beside it', () => {
    const AccessRecord = root.lookupType('anfang.identity.v1.AccessRecord');
    expect(maskJson(AccessRecord, { personName: '张三丰', doorName: '东门人行道闸' })).toEqual({
      personName: '张**',
      doorName: '东门人行道闸',
    });
  });

  it('knows which responses can carry personal data', () => {
    expect(carriesPersonalData(root.lookupType('anfang.identity.v1.GetPersonResponse'))).toBe(true);
    expect(carriesPersonalData(root.lookupType('anfang.identity.v1.ListAccessRecordsResponse'))).toBe(true);
    expect(carriesPersonalData(root.lookupType('anfang.alarm.v1.ListZonesResponse'))).toBe(false);
  });
});
