import { describe, expect, it } from 'vitest';
import { digestAuthorization, digestResponse, parseDigestChallenge, signRequest } from './auth.ts';
import { emptyRealmDigest } from './protocols/itsapi.ts';

describe('generic API signature', () => {
  it('matches a vector computed with openssl', () => {
    // printf '1700000000000\nabcdefgh12\nPOST\n/api/v1/device/events\n<sha256 of body>' | openssl dgst -sha256 -hmac device-secret-0123456789
    expect(
      signRequest({
        secret: 'device-secret-0123456789',
        timestamp: '1700000000000',
        nonce: 'abcdefgh12',
        method: 'post',
        path: '/api/v1/device/events',
        body: Buffer.from('{"events":[]}'),
      }),
    ).toBe('920f3d2296fea21c4bb18143c935a1d6d23289a9d3354e9a564164cdbf9ac58c');
  });
});

describe('HTTP Digest', () => {
  it('computes the RFC 2617 §3.5 example response', () => {
    expect(
      digestResponse({
        username: 'Mufasa',
        password: 'Circle Of Life',
        realm: 'testrealm@host.com',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        method: 'GET',
        uri: '/dir/index.html',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('answers the RFC 2617 challenge with the same response', () => {
    const challenge =
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
    const header = digestAuthorization({
      username: 'Mufasa',
      password: 'Circle Of Life',
      method: 'GET',
      uri: '/dir/index.html',
      challenge,
      cnonce: '0a4f113b',
      nc: 1,
    });
    const p = parseDigestChallenge(header);
    expect(p).toMatchObject({
      response: '6629fae49393a05397450978507c4ef1',
      qop: 'auth',
      nc: '00000001',
      opaque: '5ccc069c403ebaf9f0171e9517f40e41',
    });
  });

  it('parses unquoted qop and empty realms', () => {
    expect(parseDigestChallenge('Digest realm="", qop=auth, nonce=abc')).toEqual({
      realm: '',
      qop: 'auth',
      nonce: 'abc',
    });
  });

  it('builds the empty-realm RFC 2069 variant Dahua cameras send', () => {
    const header = emptyRealmDigest('admin', 'pw', 'POST', '/NotificationInfo/KeepAlive');
    const p = parseDigestChallenge(header);
    expect(p['realm']).toBe('');
    expect(p['nonce']).toBe('');
    expect(p['response']).toBe(
      digestResponse({
        username: 'admin',
        password: 'pw',
        realm: '',
        nonce: '',
        method: 'POST',
        uri: '/NotificationInfo/KeepAlive',
        qop: '',
        nc: '',
        cnonce: '',
      }),
    );
  });
});
