import { describe, expect, it } from 'vitest';
import { isapiIsRetransmission } from './isapi.ts';

describe('isapiIsRetransmission', () => {
  it('reads the XML string and the JSON boolean; absent or false is a fresh alert', () => {
    expect(isapiIsRetransmission({ isDataRetransmission: 'true' })).toBe(true);
    expect(isapiIsRetransmission({ isDataRetransmission: ' TRUE ' })).toBe(true);
    expect(isapiIsRetransmission({ isDataRetransmission: true })).toBe(true);
    expect(isapiIsRetransmission({ isDataRetransmission: 'false' })).toBe(false);
    expect(isapiIsRetransmission({ isDataRetransmission: false })).toBe(false);
    expect(isapiIsRetransmission({})).toBe(false);
  });
});
