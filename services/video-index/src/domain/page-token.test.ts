import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken, PageTokenError } from './page-token.ts';

describe('page tokens', () => {
  const position = {
    capturedAt: new Date('2026-11-01T08:00:00.123Z'),
    objectKey: 'device-ingest/captures/a.jpg',
  };
  it('round-trip for the same query', () => {
    expect(decodePageToken(encodePageToken(position, 'q1'), 'q1')).toEqual(position);
  });
  it('are refused for another query or when garbled', () => {
    expect(() => decodePageToken(encodePageToken(position, 'q1'), 'q2')).toThrow(PageTokenError);
    expect(() => decodePageToken('bm9wZQ', 'q1')).toThrow(PageTokenError);
  });
});
