import { describe, expect, it } from 'vitest';
import { encodeBlockJpeg, huffmanCodes, picture } from './jpeg.ts';

interface Decoded {
  width: number;
  height: number;
  blocks: number[];
  markers: number[];
}

/**
 * A strict reader of what the encoder may produce: walks every segment by its length, checks the
 * frame header, rebuilds the Huffman tables from the DHT segments and decodes every block's DC
 * value and end-of-block, then requires EOI right after the scan.
 */
function decode(bytes: Buffer): Decoded {
  expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
  let i = 2;
  const markers: number[] = [];
  let width = 0;
  let height = 0;
  const tables = new Map<number, Map<string, number>>();
  for (;;) {
    expect(bytes[i]).toBe(0xff);
    const marker = bytes[i + 1]!;
    markers.push(marker);
    const length = bytes.readUInt16BE(i + 2);
    const body = bytes.subarray(i + 4, i + 2 + length);
    if (marker === 0xc0) {
      expect(body[0]).toBe(8);
      height = body.readUInt16BE(1);
      width = body.readUInt16BE(3);
      expect(body[5]).toBe(1);
    }
    if (marker === 0xc4) {
      const bits = [...body.subarray(1, 17)];
      const count = bits.reduce((a, b) => a + b, 0);
      const values = [...body.subarray(17, 17 + count)];
      expect(length).toBe(2 + 1 + 16 + count);
      const map = new Map<string, number>();
      for (const [symbol, c] of huffmanCodes(bits, values))
        map.set(c.code.toString(2).padStart(c.length, '0'), symbol);
      tables.set(body[0]!, map);
    }
    if (marker === 0xdb) expect(length).toBe(67);
    i += 2 + length;
    if (marker === 0xda) break;
  }
  // Entropy-coded data up to EOI, unstuffed.
  const data: number[] = [];
  while (!(bytes[i] === 0xff && bytes[i + 1] !== 0x00)) {
    data.push(bytes[i]!);
    i += bytes[i] === 0xff ? 2 : 1;
  }
  expect([bytes[i], bytes[i + 1]]).toEqual([0xff, 0xd9]);
  expect(i + 2).toBe(bytes.length);
  const bits = data.map((b) => b.toString(2).padStart(8, '0')).join('');
  let pos = 0;
  const readCode = (table: Map<string, number>): number => {
    let code = '';
    while (!table.has(code)) {
      code += bits[pos++];
      if (code.length > 16) throw new Error('bad Huffman code');
    }
    return table.get(code)!;
  };
  const blocks: number[] = [];
  let dc = 0;
  for (let b = 0; b < (width / 8) * (height / 8); b += 1) {
    const category = readCode(tables.get(0x00)!);
    let diff = 0;
    if (category > 0) {
      const raw = parseInt(bits.slice(pos, pos + category), 2);
      pos += category;
      diff = raw < 1 << (category - 1) ? raw - (1 << category) + 1 : raw;
    }
    dc += diff;
    blocks.push(dc / 8 + 128);
    expect(readCode(tables.get(0x10)!)).toBe(0x00);
  }
  expect(bits.slice(pos)).toMatch(/^1*$/);
  return { width, height, blocks, markers };
}

describe('block JPEG', () => {
  it('is a well-formed baseline JPEG whose blocks decode to the requested grey levels', () => {
    const shades = [0, 255, 128, 17, 200, 64];
    const jpeg = encodeBlockJpeg(24, 16, (bx, by) => shades[by * 3 + bx]!);
    const d = decode(jpeg);
    expect(d.markers).toEqual([0xe0, 0xdb, 0xc0, 0xc4, 0xc4, 0xda]);
    expect([d.width, d.height]).toEqual([24, 16]);
    expect(d.blocks).toEqual(shades);
  });

  it('stuffs 0xFF bytes in the scan', () => {
    // Alternating extremes give long all-ones codes.
    const jpeg = encodeBlockJpeg(256, 8, (bx) => (bx % 2 === 0 ? 0 : 255));
    const d = decode(jpeg);
    expect(d.blocks.slice(0, 4)).toEqual([0, 255, 0, 255]);
  });

  it('makes small, distinct pictures of each kind', () => {
    for (const kind of ['face', 'plate', 'vehicle', 'scene', 'detection'] as const) {
      const a = picture(kind, 1);
      expect(a.length).toBeLessThan(2000);
      decode(a);
    }
    expect(picture('face', 1).equals(picture('face', 2))).toBe(false);
  });
});
