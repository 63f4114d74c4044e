/** retryRetriable: what the brokers call retriable is tried again, the rest fails at once. */
import { describe, it, expect } from 'vitest';
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { retryRetriable } from '../../src/kafka/topicAdmin.js';
import { capturingLogger } from '../support/log.js';

// what kafkajs's admin throws for a topic whose partition has no leader yet
const notLeader = () => new KafkaJSProtocolError(Object.assign(new Error('This server is not the leader for that topic-partition'), { type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true }));

describe('retryRetriable', () => {
  it('tries again while the brokers answer with a retriable error, saying so', async () => {
    const { log, lines } = capturingLogger();
    let calls = 0;
    const out = await retryRetriable('topic offsets', async () => {
      if (++calls < 3) throw notLeader();
      return 'offsets';
    }, log, 8, 1);
    expect(out).toBe('offsets');
    expect(calls).toBe(3);
    expect(lines.filter((l) => l.msg === 'brokers not ready, retrying').map((l) => l.retry_in_ms)).toEqual([1, 2]);
  });

  it('fails at once on an error that is not retriable, and after the last attempt on one that is', async () => {
    let calls = 0;
    await expect(retryRetriable('x', async () => { calls++; throw new KafkaJSNonRetriableError('bad request'); }, undefined, 8, 1)).rejects.toThrow('bad request');
    expect(calls).toBe(1);
    calls = 0;
    await expect(retryRetriable('x', async () => { calls++; throw notLeader(); }, undefined, 4, 1)).rejects.toThrow('not the leader');
    expect(calls).toBe(4);
    calls = 0;
    await expect(retryRetriable('x', async () => { calls++; throw new Error('plain'); }, undefined, 8, 1)).rejects.toThrow('plain');
    expect(calls).toBe(1);
  });
});
