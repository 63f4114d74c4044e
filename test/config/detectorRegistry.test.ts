/** The detector SQL headers are the one source of truth: the pipeline schema derives from them. */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadRegistry, peerParamValues } from '../../src/config/detectorRegistry.js';
import { closestName } from '../../src/core/names.js';
import { parsePipeline, pipelineJsonSchema } from '../../src/config/pipeline.js';

describe('detector registry', () => {
  const registry = loadRegistry();
  const defaults = parsePipeline({}).detectors;

  it.each(registry.detectors.map((d) => [d.name, d] as const))('%s: pipeline settings are the header parameters with their defaults', (_n, d) => {
    const settings = { ...defaults[d.name] } as Record<string, unknown>;
    expect(settings.enabled).toBe(true);
    delete settings.enabled;
    expect(settings).toEqual(Object.fromEntries(d.params.map((p) => [p.name, p.default])));
    expect(d.grain.length).toBeGreaterThan(10);
    expect(d.sql).toMatch(/-- output: meter_id varchar, site_case_no varchar, episode_start timestamp, detected_at timestamp,/);
  });

  it('families, problem types, site/peer needs come from the headers', () => {
    expect(registry.siteDetectors().sort()).toEqual(['restored_power', 'resumed_production']);
    expect(registry.detectors.filter((d) => d.peers).map((d) => d.name).sort()).toEqual(['baseline_anomaly', 'batch_days', 'industrial_profile', 'step_up', 'sustained_draw', 'working_week']);
    expect(registry.get('step_up')!.family).toBe('workshop');
    expect(registry.get('restored_power')!.problemType).toBe('关停取缔后恢复用电（疑似死灰复燃）');
  });

  it('peer_daily is bound with the peer detectors\' settings, so a meter and its peers use one coverage rule', () => {
    const p = parsePipeline({ detectors: { step_up: { min_day_coverage: 0.9 }, industrial_profile: { window_days: 10 } } });
    const v = peerParamValues(registry, p.detectors);
    expect(v.min_day_coverage).toBe(0.9);
    expect(v.window_days).toBe(10);
  });

  it('the pipeline JSON Schema is generated and checked in', () => {
    const onDisk = JSON.parse(readFileSync('pipelines/pipeline.schema.json', 'utf8'));
    expect(onDisk).toEqual(pipelineJsonSchema());
  });
});

describe('pipeline validation is strict', () => {
  it('an unknown detector or parameter is an error naming the closest valid name', () => {
    expect(() => parsePipeline({ detectors: { baseline_anomly: {} } }, 'p.json')).toThrow('p.json: detectors.baseline_anomly: unknown detector (did you mean baseline_anomaly?)');
    expect(() => parsePipeline({ detectors: { baseline_anomaly: { min_anomalous_day: 3 } } }, 'p.json')).toThrow('p.json: detectors.baseline_anomaly.min_anomalous_day: unknown parameter of baseline_anomaly (did you mean min_anomalous_days?)');
    expect(() => parsePipeline({ kafka: { topics: { reading: 'x' } } }, 'p.json')).toThrow('p.json: kafka.topics.reading: unknown key (did you mean readings?)');
    expect(() => parsePipeline({ zzz: 1 }, 'p.json')).toThrow(/^p\.json: zzz: unknown key$/);
  });

  it('types and ranges from the header are enforced, naming the path', () => {
    expect(() => parsePipeline({ detectors: { restored_power: { window_hours: -1 } } }, 'p.json')).toThrow(/^p\.json: detectors\.restored_power\.window_hours: /);
    expect(() => parsePipeline({ detectors: { step_up: { confirm_days: 2.5 } } }, 'p.json')).toThrow(/^p\.json: detectors\.step_up\.confirm_days: /);
    expect(() => parsePipeline({ detectors: { step_up: { history_quantile: 1.5 } } }, 'p.json')).toThrow(/^p\.json: detectors\.step_up\.history_quantile: /);
    expect(() => parsePipeline({ detectors: { step_up: { categories: ['flat'] } } }, 'p.json')).toThrow(/^p\.json: detectors\.step_up\.categories\[0\]: /);
    expect(() => parsePipeline({ cases: { min_score: 'x' } }, 'p.json')).toThrow(/^p\.json: cases\.min_score: /);
  });

  it('retention: raw data is never kept longer than the rollups made from it, and too short a window is refused', () => {
    expect(parsePipeline({}).store).toMatchObject({ raw_days: 120, hourly_days: 730, daily_days: null });
    expect(() => parsePipeline({ store: { raw_days: 800 } }, 'p.json')).toThrow(/^p\.json: store\.raw_days: expected raw_days ≤ hourly_days ≤ daily_days/);
    expect(() => parsePipeline({ store: { raw_days: 7 } }, 'p.json')).toThrow(/^p\.json: store\.raw_days: /);
    expect(() => parsePipeline({ store: { hourly_days: 100 } }, 'p.json')).toThrow(/^p\.json: store\.hourly_days: /);
    expect(parsePipeline({ store: { raw_days: null, hourly_days: null } }).store.raw_days).toBeNull();
  });

  it('closestName ignores names too far to be a typo', () => {
    expect(closestName('ratoi', ['ratio', 'min_delta_kwh'])).toBe('ratio');
    expect(closestName('completely_else', ['ratio'])).toBeUndefined();
  });
});
