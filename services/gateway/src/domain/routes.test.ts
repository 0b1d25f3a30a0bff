import { describe, expect, it } from 'vitest';
import { assembleRequest, compileTemplate, matchTemplate } from './routes.ts';

const rule = (path: string, body: string, method = 'POST') => ({
  method,
  path,
  pathParams: [],
  body,
  responseBody: '',
});

describe('path templates', () => {
  it('binds variables, nested fields and custom verbs', () => {
    const t = compileTemplate('/v1/alarm/alarms/{alarm_id}:acknowledge');
    expect(matchTemplate(t, '/v1/alarm/alarms/abc:acknowledge')).toEqual({ alarmId: 'abc' });
    expect(matchTemplate(t, '/v1/alarm/alarms/abc')).toBeUndefined();
    expect(matchTemplate(t, '/v1/alarm/alarms/a/b:acknowledge')).toBeUndefined();
    const nested = compileTemplate('/v1/alarm/zones/{zone.zone_id}');
    expect(matchTemplate(nested, '/v1/alarm/zones/z%201')).toEqual({ 'zone.zoneId': 'z 1' });
  });

  it('ranks a literal verb above a variable', () => {
    const importing = compileTemplate('/v1/compounds:import');
    const byId = compileTemplate('/v1/compounds/{compound_id}');
    expect(importing.specificity).toBeGreaterThan(0);
    expect(matchTemplate(byId, '/v1/compounds:import')).toBeUndefined();
  });
});

describe('request assembly', () => {
  it('body "*" takes the body and the path wins over it', () => {
    expect(
      assembleRequest(
        rule('/v1/x/{zone.zone_id}', '*'),
        { 'zone.zoneId': 'p' },
        {},
        { zone: { zoneId: 'b', name: 'n' } },
      ),
    ).toEqual({ zone: { zoneId: 'p', name: 'n' } });
  });

  it('no body: query parameters, dotted and repeated', () => {
    expect(
      assembleRequest(
        rule('/v1/x', '', 'GET'),
        {},
        { 'page.page_size': '5', states: ['A', 'B'], compoundId: 'c' },
        undefined,
      ),
    ).toEqual({ page: { pageSize: '5' }, states: ['A', 'B'], compoundId: 'c' });
  });

  it('body field: the body goes into the field, the rest from the query', () => {
    expect(assembleRequest(rule('/v1/x', 'zone'), {}, { dry_run: 'true' }, { name: 'n' })).toEqual({
      dryRun: 'true',
      zone: { name: 'n' },
    });
  });

  it('refuses a body that is not an object', () => {
    expect(() => assembleRequest(rule('/v1/x', '*'), {}, {}, [1])).toThrow('JSON object');
  });
});
