import { services } from '@anfang/contracts';
import { describe, expect, it } from 'vitest';
import { isRouted } from '../upstreams.ts';
import { PERSON_ROLES, rolesFor } from './policy.ts';

describe('the role table', () => {
  it('names roles for every annotated RPC of every routed service', () => {
    for (const [name, spec] of Object.entries(services)) {
      if (!isRouted(name)) continue;
      for (const method of Object.values(spec.methods))
        for (const rule of method.http) {
          const roles = rolesFor(name, method.originalName, rule.method);
          expect([method.originalName, roles.length > 0]).toEqual([method.originalName, true]);
          for (const role of roles) expect(PERSON_ROLES).toContain(role);
        }
    }
  });

  it('keeps watchlists with the police; auditors read and never write', () => {
    expect(rolesFor('anfang.identity.v1.IdentityService', 'AddWatchlistEntry', 'POST')).toEqual(['police']);
    expect(rolesFor('anfang.vehicle.v1.VehicleAccessService', 'SetWatchlistEntry', 'POST')).toEqual([
      'police',
    ]);
    for (const name of Object.keys(services))
      if (isRouted(name)) {
        expect(rolesFor(name, 'Anything', 'GET')).toContain('auditor');
        for (const method of Object.values(services[name]!.methods))
          for (const rule of method.http)
            if (rule.method !== 'GET')
              expect([method.originalName, rolesFor(name, method.originalName, rule.method)]).not.toEqual([
                method.originalName,
                expect.arrayContaining(['auditor']),
              ]);
      }
  });

  it('lets guards and the police handle alarms and arm zones, as perimeter-alarms does', () => {
    for (const method of ['AcknowledgeAlarm', 'AssignAlarm', 'StartAlarm', 'ResolveAlarm', 'SetZoneArming'])
      expect(rolesFor('anfang.alarm.v1.PerimeterAlarmService', method, 'POST')).toEqual(
        expect.arrayContaining(['guard', 'police']),
      );
    expect(rolesFor('anfang.alarm.v1.PerimeterAlarmService', 'CreateZone', 'POST')).not.toContain('police');
  });
});
