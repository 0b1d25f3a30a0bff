/**
 * Masking for display to people with no need to see a personal datum in full (SPEC §5). The
 * number of characters kept follows common practice for Chinese identifiers (GB/T 35273 examples).
 */

/**
 * Keeps `keepStart` and `keepEnd` characters (code points) and replaces the rest with `char`;
 * at least a third of the value is always masked, so short values keep fewer.
 */
export function mask(value: string, keepStart: number, keepEnd: number, char = '*'): string {
  const chars = [...value];
  if (chars.length === 0) return '';
  // Never reveal much of a short value: at least a third of it is always masked.
  const reveal = chars.length - Math.ceil(chars.length / 3);
  let start = Math.max(0, keepStart);
  let end = Math.max(0, keepEnd);
  while (start + end > reveal) {
    if (end > start) end--;
    else start--;
  }
  return (
    chars.slice(0, start).join('') +
    char.repeat(chars.length - start - end) +
    chars.slice(chars.length - end).join('')
  );
}

/** Mobile `13812345678` → `138****5678`; other numbers keep their last 4 digits. Separators dropped. */
export function maskPhone(phone: string): string {
  const plus = phone.trim().startsWith('+');
  const digits = phone.replace(/\D/g, '');
  if (digits.length === 0) return '';
  const mainland = digits.length === 13 && digits.startsWith('86') ? digits.slice(2) : digits;
  if (/^1\d{10}$/.test(mainland)) return mask(mainland, 3, 4);
  return (plus ? '+' : '') + mask(digits, 0, 4);
}

/**
 * Resident ID number (18 characters, last may be X) `370303199001011234` → `370***********1234`:
 * the first 3 (province and city) and last 4. Other documents keep their first and last 2.
 */
export function maskIdNumber(id: string): string {
  const value = id.replace(/\s+/g, '').toUpperCase();
  if (/^\d{17}[\dX]$/.test(value) || /^\d{15}$/.test(value)) return mask(value, 3, 4);
  return mask(value, 2, 2);
}

/** A person's name `张三丰` → `张**`: the family name only. */
export function maskName(name: string): string {
  return mask(name.trim(), 1, 0);
}
