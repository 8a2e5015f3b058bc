import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { partitionFor } from '../../../../actors/model/records.js';

describe('partitionFor', () => {
  // kafkajs's DefaultPartitioner is the Java client's murmur2 partitioner: a keyed record goes where a
  // Java producer would put it. Ours must agree for every key.
  const kafkajs = Partitioners.DefaultPartitioner();
  const keys = ['u1', 'user-42', '', 'ü-ñ-漢字', 'a', 'ab', 'abc', 'abcd', 'abcde', ...Array.from({ length: 200 }, (_, i) => `user-${i * 7919}`)];

  it.each([1, 3, 12, 64])('matches the Java/kafkajs default partitioner over %i partitions', (n) => {
    const partitionMetadata = Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    for (const key of keys) {
      const theirs = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
      expect(partitionFor(key, n), key).toBe(theirs);
    }
  });

  it('spreads users over every partition', () => {
    const seen = new Set(Array.from({ length: 1000 }, (_, i) => partitionFor(`user-${i}`, 12)));
    expect(seen.size).toBe(12);
  });
});
