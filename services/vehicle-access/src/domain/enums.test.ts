import { describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import {
  DECISION_TO_PROTO,
  decisionFromProto,
  directionFromProto,
  isSpoofed,
  REASON_TO_PROTO,
  unknownActionFromProto,
  watchlistActionFromProto,
} from './enums.ts';

const { SpoofCheckResult, Direction } = anfang.common.v1;

describe('contract enums', () => {
  it('map every decision and reason to a distinct, specified value', () => {
    for (const table of [DECISION_TO_PROTO, REASON_TO_PROTO]) {
      const values = Object.values(table);
      expect(new Set(values).size).toBe(values.length);
      expect(values).not.toContain(0);
    }
    expect(decisionFromProto(DECISION_TO_PROTO.hold)).toBe('hold');
    expect(decisionFromProto(0)).toBeUndefined();
  });

  it('treat unspecified actions as the safe choice', () => {
    expect(watchlistActionFromProto(0)).toBe('alarm-and-hold');
    expect(unknownActionFromProto(undefined)).toBe('hold');
    expect(directionFromProto(Direction.DIRECTION_UNSPECIFIED)).toBeUndefined();
  });

  it('count every spoof kind, and only those, as spoofed', () => {
    expect(isSpoofed(SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_REPLAY)).toBe(true);
    expect(isSpoofed(SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_MASK)).toBe(true);
    expect(isSpoofed(SpoofCheckResult.SPOOF_CHECK_RESULT_GENUINE)).toBe(false);
    expect(isSpoofed(SpoofCheckResult.SPOOF_CHECK_RESULT_UNSPECIFIED)).toBe(false);
  });
});
