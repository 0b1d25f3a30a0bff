/**
 * Chinese licence plate normalisation. Cameras and people write the same plate many ways
 * (full-width characters, spaces, the middle dot of "鲁C·12345", lower case), and recognisers
 * confuse O with 0 and I with 1. A plate is normalised to one canonical spelling, classified,
 * and given a lookup key that tolerates those confusions: plates never use the letters I and O
 * in their serial, so an I or O there is flagged (never silently "corrected" in the record) and
 * folded to 1 / 0 in the key only, so a misread still finds the registered vehicle.
 */

/** Province abbreviations (省、自治区、直辖市简称) that start an ordinary plate. */
export const PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';

export type PlateKind =
  | 'ordinary'
  | 'new-energy'
  | 'trailer'
  | 'learner'
  | 'police'
  | 'consulate'
  | 'hong-kong'
  | 'macau'
  | 'embassy';

/** An I or O where a plate only has digits or the letters without I and O. */
export interface PlateConfusion {
  /** Index in the canonical plate (0 = the province character). */
  readonly index: number;
  readonly read: 'I' | 'O';
  readonly likely: '1' | '0';
}

export interface NormalisedPlate {
  readonly ok: true;
  /** Canonical spelling: half-width, upper case, no separators, as read otherwise. */
  readonly plate: string;
  /** The plate with flagged I/O folded to 1/0: the key registries and watchlists match on. */
  readonly key: string;
  readonly kind: PlateKind;
  readonly confusions: readonly PlateConfusion[];
  /** The input differed from the canonical spelling (separators, width, case). */
  readonly changed: boolean;
}

export interface InvalidPlate {
  readonly ok: false;
  readonly reason: string;
}

export type PlateResult = NormalisedPlate | InvalidPlate;

// Separators seen on plates and in typed input: spaces, dots and middle dots, dashes.
const SEPARATORS = /[\s.·•・\-_]/gu;
const SUFFIXES: Readonly<Record<string, PlateKind>> = {
  挂: 'trailer',
  学: 'learner',
  警: 'police',
  领: 'consulate',
  港: 'hong-kong',
  澳: 'macau',
};
// The serial's alphabet as read, before the confusion check: digits and A-Z.
const SERIAL = /^[0-9A-Z]+$/;
// The issuing authority letter (发牌机关代号) after the province.
const AUTHORITY = /^[A-Z]$/;

function canonicalSpelling(raw: string): string {
  // NFKC folds full-width letters and digits (ＡＢ１２) to ASCII and keeps Chinese characters.
  return raw.normalize('NFKC').replace(SEPARATORS, '').toUpperCase();
}

function confusionsIn(plate: string, from: number, to: number): PlateConfusion[] {
  const found: PlateConfusion[] = [];
  for (let index = from; index < to; index++) {
    const char = plate[index];
    if (char === 'I') found.push({ index, read: 'I', likely: '1' });
    else if (char === 'O') found.push({ index, read: 'O', likely: '0' });
  }
  return found;
}

function foldConfusions(plate: string, confusions: readonly PlateConfusion[]): string {
  if (confusions.length === 0) return plate;
  const chars = [...plate];
  for (const confusion of confusions) chars[confusion.index] = confusion.likely;
  return chars.join('');
}

function invalid(reason: string): InvalidPlate {
  return { ok: false, reason };
}

function accept(raw: string, plate: string, kind: PlateKind, confusions: PlateConfusion[]): NormalisedPlate {
  return {
    ok: true,
    plate,
    key: foldConfusions(plate, confusions),
    kind,
    confusions,
    changed: plate !== raw,
  };
}

/** New-energy serials: small vehicles a letter (D, F, …) then a letter or digit and 4 digits; large vehicles 5 digits then the letter. */
function isNewEnergySerial(serial: string): boolean {
  return /^[A-HJK][0-9A-HJ-NP-Z][0-9]{4}$/.test(serial) || /^[0-9]{5}[A-HJK]$/.test(serial);
}

export function normalisePlate(input: string): PlateResult {
  if (typeof input !== 'string' || input.trim() === '') return invalid('empty plate');
  const plate = canonicalSpelling(input);
  if (plate.length === 0) return invalid('empty plate');
  const chars = [...plate];

  if (chars[0] === '使' || chars.at(-1) === '使') {
    const start = chars[0] === '使' ? 1 : 0;
    const confusions = confusionsIn(plate, start, chars.length - 1 + start);
    const digits = foldConfusions(plate, confusions).replace('使', '');
    if (!/^[0-9]{6}$/.test(digits)) return invalid(`embassy plate ${plate} must have 6 digits beside 使`);
    return accept(input, plate, 'embassy', confusions);
  }

  const province = chars[0]!;
  if (!PROVINCES.includes(province))
    return invalid(
      /^[A-Z0-9]$/.test(province)
        ? `plate ${plate} does not start with a province abbreviation`
        : `unknown province abbreviation ${province}`,
    );
  if (chars.length < 2 || !AUTHORITY.test(chars[1]!))
    return invalid(`plate ${plate}: the second character must be the issuing authority letter`);

  const last = chars.at(-1)!;
  const suffixKind = SUFFIXES[last];
  if (suffixKind) {
    const serial = chars.slice(2, -1).join('');
    if (serial.length !== 4 || !SERIAL.test(serial))
      return invalid(`${last} plate ${plate} must have 4 letters or digits before ${last}`);
    if ((suffixKind === 'hong-kong' || suffixKind === 'macau') && (province !== '粤' || chars[1] !== 'Z'))
      return invalid(`${last} plate ${plate} must start with 粤Z`);
    return accept(input, plate, suffixKind, confusionsIn(plate, 2, chars.length - 1));
  }

  const serial = chars.slice(2).join('');
  if (!SERIAL.test(serial))
    return invalid(
      `plate ${plate} has characters other than letters and digits after ${province}${chars[1]}`,
    );
  const confusions = confusionsIn(plate, 2, chars.length);
  const folded = foldConfusions(plate, confusions).slice(2);
  if (serial.length === 5) return accept(input, plate, 'ordinary', confusions);
  if (serial.length === 6) {
    if (!isNewEnergySerial(folded))
      return invalid(
        `new-energy plate ${plate} needs a type letter (D, F, …), a letter or digit and 4 digits, or 5 digits and the type letter`,
      );
    return accept(input, plate, 'new-energy', confusions);
  }
  return invalid(
    `plate ${plate} has ${chars.length} characters; ordinary plates have 7, new-energy plates 8`,
  );
}
