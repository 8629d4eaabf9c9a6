import { describe, expect, it } from 'vitest';
import { clusterTopics, metadataTopicsFor } from '../../../common/gossip/index.js';

describe('metadataTopicsFor', () => {
  const topics = clusterTopics('jjj');
  const revokedAt = (...versions: number[]) => ({ revocations: versions.map((version) => ({ version })) });

  it('puts a version that adds a revocation on the revocations topic alone', () => {
    expect(metadataTopicsFor('jjj', revokedAt(3, 7), 6)).toEqual([topics.revocations]);
  });

  it('puts a version whose revocations are all older than the last one published on the metadata topic', () => {
    expect(metadataTopicsFor('jjj', revokedAt(3, 7), 7)).toEqual([topics.metadata]);
    expect(metadataTopicsFor('jjj', revokedAt(), 0)).toEqual([topics.metadata]);
  });
});
