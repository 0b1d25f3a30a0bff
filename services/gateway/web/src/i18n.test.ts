import { afterEach, describe, expect, it } from 'vitest';
import { enumTable, messageTables, setLang, t } from './i18n.ts';

const placeholders = (text: string): string[] =>
  [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();

describe('string tables', () => {
  afterEach(() => setLang('zh'));

  it('have the same keys in Chinese and English, none empty', () => {
    expect(Object.keys(messageTables.en).sort()).toEqual(Object.keys(messageTables.zh).sort());
    for (const table of [messageTables.zh, messageTables.en]) {
      for (const [key, text] of Object.entries(table)) expect(text.trim(), key).not.toBe('');
    }
  });

  it('use the same placeholders in both languages', () => {
    for (const key of Object.keys(messageTables.zh) as (keyof typeof messageTables.zh)[]) {
      expect(placeholders(messageTables.en[key]), key).toEqual(placeholders(messageTables.zh[key]));
    }
  });

  it('label every enum value in both languages', () => {
    for (const [value, [zh, en]] of Object.entries(enumTable)) {
      expect(zh.trim(), value).not.toBe('');
      expect(en.trim(), value).not.toBe('');
    }
  });

  it('are Chinese by default and switch to English', () => {
    expect(t('level.demonstration')).toBe('示范');
    setLang('en');
    expect(t('level.demonstration')).toBe('Demonstration');
  });

  it('fill placeholders and leave unknown ones visible', () => {
    expect(t('compound.missing', { count: 3 })).toBe('距下一等级缺 3 项');
    expect(t('compound.missing')).toBe('距下一等级缺 {count} 项');
  });
});
