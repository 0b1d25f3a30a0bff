import { anfang } from '@anfang/contracts';
import { describe, expect, it } from 'vitest';
import {
  checkRetentionDays,
  classify,
  frontendCompliant,
  retentionCutoff,
  RetentionTooShortError,
} from './classes.ts';

const { ImageKind } = anfang.common.v1;

describe('classify', () => {
  it('keeps alarm evidence as alarms whatever it shows', () => {
    expect(classify('alarms', ImageKind.IMAGE_KIND_FACE)).toBe('alarms');
  });
  it('lets the picture decide, and the subject decide for scenes', () => {
    expect(classify('vehicles', ImageKind.IMAGE_KIND_DRIVER_FACE)).toBe('faces');
    expect(classify('faces', ImageKind.IMAGE_KIND_PLATE)).toBe('vehicles');
    expect(classify('faces', ImageKind.IMAGE_KIND_SCENE)).toBe('faces');
    expect(classify('general', ImageKind.IMAGE_KIND_DETECTION)).toBe('alarms');
    expect(classify('general', undefined)).toBe('general');
  });
});

describe('retention', () => {
  it('refuses fewer than 30 days', () => {
    expect(() => checkRetentionDays(29)).toThrow(RetentionTooShortError);
    expect(() => checkRetentionDays(30.5)).toThrow(RetentionTooShortError);
    expect(checkRetentionDays(30)).toBe(30);
  });
  it('puts the cutoff whole days back', () => {
    expect(retentionCutoff(new Date('2026-03-31T12:00:00Z'), 30).toISOString()).toBe(
      '2026-03-01T12:00:00.000Z',
    );
  });
  it('calls front-end storage below 7 days non-compliant', () => {
    expect(frontendCompliant(6)).toBe(false);
    expect(frontendCompliant(0)).toBe(false);
    expect(frontendCompliant(7)).toBe(true);
  });
});
