import { describe, it, expect } from 'vitest';
import { loadDetectorSql, parseDetectorSql } from '../../src/store/detectors.js';
import { parsePipeline, pipelineJsonSchema } from '../../src/config/pipeline.js';

describe('detector SQL headers', () => {
  const defaults = parsePipeline({}).detectors as Record<string, Record<string, unknown>>;

  it.each(loadDetectorSql().map((d) => [d.name, d] as const))('%s: header parameters are exactly the pipeline parameters, with the same defaults', (_n, d) => {
    const pipelineParams = { ...defaults[d.name] };
    delete pipelineParams.enabled;
    expect(Object.fromEntries(d.params.map((p) => [p.name, p.default]))).toEqual(pipelineParams);
    expect(d.grain.length).toBeGreaterThan(10);
    expect(d.sql).toMatch(/-- output: meter_id varchar, site_case_no varchar, episode_start timestamp, detected_at timestamp,/);
  });

  it('refuses a parameter used but not declared, or declared but not used', () => {
    expect(() => parseDetectorSql('x.sql', '-- detector: step_up\nselect $ratio')).toThrow(/uses \$ratio but the header declares no such parameter/);
    expect(() => parseDetectorSql('x.sql', '-- detector: step_up\n-- param: ratio double = 2 [1] r\nselect 1')).toThrow(/ratio is declared but the query never uses/);
  });

  it('the pipeline JSON Schema is generated and checked in', async () => {
    const { readFileSync } = await import('node:fs');
    const onDisk = JSON.parse(readFileSync('pipelines/pipeline.schema.json', 'utf8'));
    expect(onDisk).toEqual(pipelineJsonSchema());
  });

  it('pipeline errors name the path', () => {
    expect(() => parsePipeline({ detectors: { restored_power: { window_hours: -1 } } }, 'p.json')).toThrow(/^p\.json: detectors\.restored_power\.window_hours: /);
    expect(() => parsePipeline({ cases: { min_score: 'x' } }, 'p.json')).toThrow(/^p\.json: cases\.min_score: /);
  });
});
