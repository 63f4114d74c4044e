import { describe, it, expect } from 'vitest';
import { binarySegmentation } from '../../src/core/changepoints.js';
import { rng } from '../../src/fixtures/district.js';

describe('change points (binary segmentation)', () => {
  it('finds steps up and down at the right day with their magnitude', () => {
    const rand = rng(3);
    const xs = [...Array(40)].map(() => 8 + rand()).concat([...Array(30)].map(() => 60 + 3 * rand()), [...Array(30)].map(() => 9 + rand()));
    const cps = binarySegmentation(xs);
    expect(cps.map((c) => [c.index, c.direction])).toEqual([[40, 'up'], [70, 'down']]);
    expect(cps[0]!.magnitude).toBeGreaterThan(45);
  });
  it('finds nothing in a noisy series with no change', () => {
    const rand = rng(5);
    let found = 0;
    for (let s = 0; s < 50; s++) found += binarySegmentation([...Array(90)].map(() => 10 * (0.7 + 0.6 * rand()))).length;
    expect(found).toBeLessThanOrEqual(5);
  });
});
