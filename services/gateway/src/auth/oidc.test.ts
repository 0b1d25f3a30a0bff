import { describe, expect, it } from 'vitest';
import { principalFromClaims, type OidcOptions } from './oidc.ts';

const options: OidcOptions = {
  issuer: 'https://idp',
  audience: 'anfang',
  jwks: 'https://idp/jwks',
  roleClaim: 'roles',
  roleMap: { 'town-office': 'street_officer', root: 'service' },
  compoundsClaim: 'compounds',
  areasClaim: 'areas',
};

describe('claims → principal', () => {
  it('maps a provider role and an area scope', () => {
    expect(
      principalFromClaims({ sub: 's', roles: ['staff', 'town-office'], areas: ['370303001'] }, options),
    ).toMatchObject({
      subject: 'oidc:s',
      role: 'street_officer',
      compounds: [],
      areas: ['370303001'],
    });
  });

  it('never maps to the service role or an unknown one, and refuses bad scopes', () => {
    expect(() => principalFromClaims({ sub: 's', roles: ['root'] }, options)).toThrow('no Anfang role');
    expect(() => principalFromClaims({ sub: 's', roles: ['admin'] }, options)).toThrow('no Anfang role');
    expect(() =>
      principalFromClaims({ sub: 's', roles: 'police', compounds: 'everything' }, options),
    ).toThrow('invalid compounds');
    expect(() => principalFromClaims({ sub: 's', roles: 'police', areas: [''] }, options)).toThrow(
      'invalid areas',
    );
    expect(() => principalFromClaims({ roles: 'police' }, options)).toThrow('no subject');
  });
});
