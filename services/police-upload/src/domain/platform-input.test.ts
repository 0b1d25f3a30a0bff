import { describe, expect, it } from 'vitest';
import { validatePlatform } from './platform-input.ts';

const good = {
  platformId: '37030300005030009001',
  baseUrl: 'https://viid.police.example:8443',
  username: '37030300005040000001',
  passwordRef: 'zibo-viid',
  enabled: true,
};

describe('validatePlatform', () => {
  it('fills the defaults', () => {
    const r = validatePlatform(good);
    expect(r).toMatchObject({
      platform: {
        objectKinds: ['faces', 'motorVehicles'],
        keepaliveIntervalS: 60,
        keepaliveMisses: 3,
        enabled: true,
      },
    });
  });

  it('names every problem', () => {
    const r = validatePlatform({
      ...good,
      platformId: '123',
      baseUrl: 'ftp://x',
      passwordRef: '../etc/passwd',
      objectKinds: ['faces', 'videos'],
      keepaliveIntervalS: 99999,
    });
    expect('violations' in r && r.violations.map((x) => x.field)).toEqual([
      'platform.platform_id',
      'platform.base_url',
      'platform.password_ref',
      'platform.object_kinds',
      'platform.keepalive_interval_s',
    ]);
    expect(validatePlatform({ ...good, baseUrl: 'https://u:p@host' })).toHaveProperty('violations');
  });

  it('accepts the community extensions and refuses one it does not know', () => {
    const all = ['doorDevices', 'personInfos', 'houseInfos', 'carInfos'];
    const r = validatePlatform({ ...good, extensions: [...all, 'doorDevices'], includeIdNumbers: true });
    expect('platform' in r && r.platform).toMatchObject({ extensions: all, includeIdNumbers: true });
    const bad = validatePlatform({ ...good, extensions: ['carInfos', 'shops'] });
    expect('violations' in bad && bad.violations.map((x) => x.description)).toEqual([
      'shops is not one of doorDevices, personInfos, houseInfos, carInfos',
    ]);
  });
});
