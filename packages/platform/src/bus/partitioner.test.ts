import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2Partitioner } from './kafka.ts';
import { murmur2, partitionForKey } from './partitioner.ts';

const metadata = (n: number, leaderless: readonly number[] = []) =>
  Array.from({ length: n }, (_, p) => ({
    partitionId: p,
    leader: leaderless.includes(p) ? -1 : 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));

describe('partitionForKey', () => {
  it('matches the Java client on known vectors', () => {
    // Values from Kafka's UtilsTest#testMurmur2 / DefaultPartitionerTest.
    expect(murmur2(new TextEncoder().encode('21'))).toBe(-973932308);
    expect(murmur2(new TextEncoder().encode('foobar'))).toBe(-790332482);
    expect(murmur2(new TextEncoder().encode('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(new TextEncoder().encode('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(new TextEncoder().encode('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(
      -58897971,
    );
  });

  it('agrees with kafkajs DefaultPartitioner for random keys and partition counts', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 5_000; i++) {
      const key = i % 3 === 0 ? randomBytes(1 + (i % 40)).toString('base64') : `device-${i}-日本-${i % 7}`;
      const n = 1 + (i % 24);
      const partitionMetadata = Array.from({ length: n }, (_, p) => ({
        partitionId: p,
        leader: 0,
        replicas: [0],
        isr: [0],
        partitionErrorCode: 0,
      }));
      const expected = partitioner({ topic: 't', partitionMetadata, message: { key, value: 'x' } });
      expect(partitionForKey(key, n)).toBe(expected);
    }
  });

  it("the Kafka bus's partitioner picks what kafkajs' DefaultPartitioner picks for a key (string or bytes)", () => {
    const theirs = Partitioners.DefaultPartitioner();
    const ours = murmur2Partitioner();
    for (let i = 0; i < 2_000; i++) {
      const text = `device-${i}-日本-${i % 7}`;
      const key = i % 2 === 0 ? text : Buffer.from(text);
      const partitionMetadata = metadata(1 + (i % 24));
      const args = { topic: 't', partitionMetadata, message: { key, value: 'x' } };
      expect(ours(args)).toBe(theirs(args));
    }
    expect(
      ours({ topic: 't', partitionMetadata: metadata(8), message: { key: 'k', value: 'x', partition: 5 } }),
    ).toBe(5);
  });

  it('sends unkeyed messages round-robin over the partitions that have a leader', () => {
    const ours = murmur2Partitioner();
    const picked = new Set<number>();
    for (let i = 0; i < 40; i++)
      picked.add(ours({ topic: 't', partitionMetadata: metadata(4, [1, 2]), message: { value: 'x' } }));
    expect([...picked].sort()).toEqual([0, 3]);
  });

  it('rejects a bad partition count', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError);
  });
});
