/**
 * Two replicas behind one address: the upper platform's Digest challenge may come from one and
 * its answer reach the other. The nonces live in Redis, so each replica accepts the other's
 * challenge — once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestAuthorization } from '@anfang/gat1400';
import type { RunningService } from '@anfang/platform/service';
import { PLATFORM_ID, startHarness, type Harness } from './harness.ts';

let h: Harness;
let replica: RunningService;

beforeAll(async () => {
  h = await startHarness('police-upload-replicas');
  replica = await h.startReplica();
});
afterAll(async () => {
  await h?.close();
});

const PATH = '/VIID/Dispositions?PageRecordNum=1';
const at = (service: RunningService, authorization?: string) =>
  fetch(`http://127.0.0.1:${service.ports.http}${PATH}`, {
    headers: { 'User-Identify': PLATFORM_ID, ...(authorization ? { Authorization: authorization } : {}) },
  });
const answerTo = (challenge: string) =>
  digestAuthorization({
    username: PLATFORM_ID,
    secret: h.password,
    method: 'GET',
    uri: PATH,
    challenge,
  });

describe('Digest nonces across replicas', () => {
  it('a challenge from one replica is answered at the other, and only once', async () => {
    for (const [first, second] of [
      [h.service(), replica],
      [replica, h.service()],
    ] as const) {
      const challenged = await at(first);
      expect(challenged.status).toBe(401);
      const authorization = answerTo(challenged.headers.get('www-authenticate') ?? '');
      const accepted = await at(second, authorization);
      expect(accepted.status).toBe(200);
      expect(await accepted.json()).toHaveProperty('DispositionListObject');
      // The same answer again, at either replica: the nonce is spent.
      for (const service of [first, second]) {
        const replayed = await at(service, authorization);
        expect(replayed.status).toBe(401);
        expect(replayed.headers.get('www-authenticate')).toMatch(/^Digest /);
      }
    }
  });

  it('a nonce no replica issued is refused', async () => {
    const forged = answerTo('Digest realm="anfang", qop="auth", nonce="00112233445566778899aabbccddeeff"');
    expect((await at(replica, forged)).status).toBe(401);
    expect((await at(h.service(), forged)).status).toBe(401);
  });
});
