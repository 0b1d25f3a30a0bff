import { describe, expect, it } from 'vitest';
import { captureImageKey, extensionFor, keySegment, quarantineKey } from './image-keys.ts';

describe('image keys', () => {
  it('captures/<compound>/<device date>/<device>/<event>-<n>.<ext>', () => {
    expect(
      captureImageKey({
        compoundId: '370303001001',
        occurredAt: new Date('2025-11-28T23:59:59.999Z'),
        deviceId: 'dev-1',
        eventId: '0f8c7e52-1d8a-5c47-9a4e-2b0f3c9e7a10',
        index: 1,
        contentType: 'image/jpeg',
      }),
    ).toBe('captures/370303001001/2025-11-28/dev-1/0f8c7e52-1d8a-5c47-9a4e-2b0f3c9e7a10-1.jpg');
  });

  it('extensions by content type', () => {
    expect(extensionFor('image/png')).toBe('png');
    expect(extensionFor('image/JPEG; q=1')).toBe('jpg');
    expect(extensionFor('application/octet-stream')).toBe('bin');
  });

  it('segments are portable', () => {
    expect(keySegment('a/b%c+d')).toBe('a_b_c_d');
    expect(keySegment('..')).toBe('_..');
    expect(keySegment('')).toBe('_');
    expect(quarantineKey(new Date('2025-01-02T03:04:05Z'), 'x/y')).toBe('quarantine/2025-01-02/x_y');
  });
});
