import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { mintCallerMetadata } from '@anfang/platform/auth';
import { TEST_CALLER_TOKEN_KEY } from '@anfang/testing';
import { PLATFORM_ID, startHarness, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('police-upload-api');
});
afterAll(async () => h?.close());

const { SessionState } = anfang.police.v1;

describe('PoliceUploadService', () => {
  it('shows the platform with its live session, never a password', async () => {
    const { platforms } = await h.client.listPlatforms({}, { metadata: h.police });
    expect(platforms).toHaveLength(1);
    expect(platforms![0]!.platform).toMatchObject({ platformId: PLATFORM_ID, passwordRef: 'peer-password' });
    expect(JSON.stringify(platforms)).not.toMatch(/password"\s*:/);
    const { platform } = await h.client.getPlatform({ platformId: PLATFORM_ID }, { metadata: h.police });
    expect(platform?.session?.state).toBe(SessionState.SESSION_STATE_REGISTERED);
  });

  it('refuses other roles and invalid platforms', async () => {
    const manager = await mintCallerMetadata(
      { subject: 'm', role: 'community_manager', compounds: [h.compoundId] },
      TEST_CALLER_TOKEN_KEY,
    );
    await expect(h.client.listPlatforms({}, { metadata: manager })).rejects.toMatchObject({
      name: 'PermissionDeniedError',
    });
    await expect(
      h.client.updatePlatform(
        { platform: { platformId: '1', baseUrl: 'x', passwordRef: '../x' } },
        { metadata: h.police },
      ),
    ).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    await expect(
      h.client.getPlatform({ platformId: '37030300005030009999' }, { metadata: h.police }),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });

  it('platform operators watch and retry, auditors only watch, street officers are refused', async () => {
    const as = (role: 'platform_operator' | 'auditor' | 'street_officer') =>
      mintCallerMetadata({ subject: role, role, compounds: [], areas: ['370303'] }, TEST_CALLER_TOKEN_KEY);
    const operator = await as('platform_operator');
    const auditor = await as('auditor');
    const { platform } = await h.client.getPlatform({ platformId: PLATFORM_ID }, { metadata: operator });
    expect(platform?.session?.state).toBe(SessionState.SESSION_STATE_REGISTERED);
    expect((await h.client.getBacklog({}, { metadata: auditor })).entries).toBeDefined();
    expect(
      (await h.client.retryDeadLetters({ platformId: PLATFORM_ID }, { metadata: operator })).retried ?? 0,
    ).toBe(0);
    const refused = { name: 'PermissionDeniedError' };
    await expect(
      h.client.retryDeadLetters({ platformId: PLATFORM_ID }, { metadata: auditor }),
    ).rejects.toMatchObject(refused);
    await expect(
      h.client.updatePlatform({ platform: platform!.platform! }, { metadata: operator }),
    ).rejects.toMatchObject(refused);
    await expect(h.client.listPlatforms({}, { metadata: await as('street_officer') })).rejects.toMatchObject(
      refused,
    );
  });

  it('shows the backlog, and lists and retries dead letters', async () => {
    const { entries } = await h.client.getBacklog({}, { metadata: h.police });
    expect(Array.isArray(entries)).toBe(true);
    const { deadLetters } = await h.client.listDeadLetters(
      { platformId: PLATFORM_ID },
      { metadata: h.police },
    );
    expect(deadLetters ?? []).toEqual([]);
    const { retried } = await h.client.retryDeadLetters({ platformId: PLATFORM_ID }, { metadata: h.police });
    expect(retried ?? 0).toBe(0);
  });
});
