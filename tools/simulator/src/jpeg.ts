/**
 * Tiny but real baseline JPEGs, made in-process without an image library: grayscale, one
 * quantisation table of ones, every 8×8 block flat (only its DC coefficient set), Huffman-coded
 * with the standard DC luminance table and a one-symbol AC table (end-of-block). Any decoder
 * shows a blocky picture; ingest sees JPEG magic, valid segments and a size that stays small.
 */

/** Code lengths 1..16 and symbols of the standard DC luminance table (ITU T.81 Annex K.3). */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/** One AC code of length 2 for symbol 0x00 (EOB): every block's AC coefficients are zero. */
const AC_BITS = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_VALUES = [0x00];

export interface HuffmanCode {
  readonly code: number;
  readonly length: number;
}

/** Canonical Huffman codes (T.81 Annex C) of a DHT table, by symbol. */
export function huffmanCodes(bits: readonly number[], values: readonly number[]): Map<number, HuffmanCode> {
  const codes = new Map<number, HuffmanCode>();
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length += 1) {
    for (let i = 0; i < bits[length - 1]!; i += 1) {
      codes.set(values[k]!, { code, length });
      code += 1;
      k += 1;
    }
    code <<= 1;
  }
  return codes;
}

const DC_CODES = huffmanCodes(DC_BITS, DC_VALUES);
const AC_CODES = huffmanCodes(AC_BITS, AC_VALUES);

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private count = 0;

  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i -= 1) {
      this.current = (this.current << 1) | ((value >>> i) & 1);
      this.count += 1;
      if (this.count === 8) this.flushByte();
    }
  }

  /** Pads the last byte with 1-bits (T.81 F.1.2.3) and returns the stuffed bytes. */
  finish(): number[] {
    if (this.count > 0) this.write(0xff, 8 - this.count);
    return this.bytes;
  }

  private flushByte(): void {
    this.bytes.push(this.current);
    // A 0xFF in entropy-coded data is followed by a stuffed 0x00.
    if (this.current === 0xff) this.bytes.push(0x00);
    this.current = 0;
    this.count = 0;
  }
}

function segment(marker: number, payload: readonly number[]): number[] {
  const length = payload.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...payload];
}

/**
 * A grayscale baseline JPEG of `width`×`height` (rounded up to multiples of 8) whose 8×8 blocks
 * have the grey levels `shade(blockX, blockY)` (0–255).
 */
export function encodeBlockJpeg(
  width: number,
  height: number,
  shade: (bx: number, by: number) => number,
): Buffer {
  const w = Math.max(8, Math.ceil(width / 8) * 8);
  const h = Math.max(8, Math.ceil(height / 8) * 8);
  const out: number[] = [0xff, 0xd8];
  out.push(...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]));
  out.push(...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]));
  out.push(...segment(0xc0, [8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0]));
  out.push(...segment(0xc4, [0x00, ...DC_BITS, ...DC_VALUES]));
  out.push(...segment(0xc4, [0x10, ...AC_BITS, ...AC_VALUES]));
  out.push(...segment(0xda, [1, 1, 0x00, 0, 63, 0]));
  const writer = new BitWriter();
  const eob = AC_CODES.get(0x00)!;
  let previous = 0;
  for (let by = 0; by < h / 8; by += 1) {
    for (let bx = 0; bx < w / 8; bx += 1) {
      const grey = Math.min(255, Math.max(0, Math.round(shade(bx, by))));
      // A flat block of level v has DC coefficient 8·(v − 128) after the level shift.
      const dc = 8 * (grey - 128);
      const diff = dc - previous;
      previous = dc;
      const magnitude = Math.abs(diff);
      const category = magnitude === 0 ? 0 : Math.floor(Math.log2(magnitude)) + 1;
      const code = DC_CODES.get(category)!;
      writer.write(code.code, code.length);
      if (category > 0) writer.write(diff < 0 ? diff + (1 << category) - 1 : diff, category);
      writer.write(eob.code, eob.length);
    }
  }
  out.push(...writer.finish(), 0xff, 0xd9);
  return Buffer.from(out);
}

export type PictureKind = 'face' | 'scene' | 'plate' | 'vehicle' | 'detection';

/**
 * A small picture of the kind, varied by `seed` (so two captures differ): a face is an oval on a
 * background, a plate a bright bar, a vehicle a dark box on the road, a scene a gradient.
 */
export function picture(kind: PictureKind, seed: number): Buffer {
  const tone = (n: number): number => (seed * 2654435761 + n * 40503) % 97;
  switch (kind) {
    case 'face':
      return encodeBlockJpeg(64, 80, (bx, by) => {
        const dx = (bx - 3.5) / 3;
        const dy = (by - 4.5) / 4;
        return dx * dx + dy * dy < 1 ? 170 + tone(1) / 2 : 60 + tone(2);
      });
    case 'plate':
      return encodeBlockJpeg(96, 32, (bx, by) =>
        by === 1 && bx > 0 && bx < 11 ? 40 + ((bx + seed) % 3) * 60 : 20 + tone(3) / 4,
      );
    case 'vehicle':
      return encodeBlockJpeg(128, 96, (bx, by) =>
        bx > 3 && bx < 12 && by > 3 && by < 10 ? 30 + tone(4) : 120 + by * 4,
      );
    case 'detection':
    case 'scene':
    default:
      return encodeBlockJpeg(128, 72, (bx, by) => 40 + bx * 8 + by * 3 + tone(5) / 3);
  }
}
