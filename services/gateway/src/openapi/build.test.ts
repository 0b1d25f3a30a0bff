import SwaggerParser from '@apidevtools/swagger-parser';
import { services } from '@anfang/contracts';
import { describe, expect, it } from 'vitest';
import { isRouted, NOT_ROUTED } from '../upstreams.ts';
import { buildOpenApi } from './build.ts';

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const document = buildOpenApi();
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it('covers every annotated RPC of every service (EchoService, a test fixture, aside)', () => {
    const document = buildOpenApi();
    const operations = new Set(
      Object.values(document.paths).flatMap((ops) => Object.values(ops).map((op) => String(op.summary))),
    );
    const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((verb) => `${verb.toUpperCase()} ${path}`),
    );
    let count = 0;
    for (const [name, spec] of Object.entries(services)) {
      if (!isRouted(name)) {
        expect(NOT_ROUTED).toContain(name);
        continue;
      }
      for (const method of Object.values(spec.methods))
        for (const rule of method.http) {
          count++;
          expect(documented).toContain(`${rule.method} ${rule.path}`);
          expect(operations).toContain(method.originalName);
        }
    }
    expect(documented.length).toBe(count);
    expect(count).toBeGreaterThan(80);
  });

  it('describes query parameters and proto3 JSON types', () => {
    const document = buildOpenApi();
    const list = document.paths['/v1/alarm/alarms']!.get as {
      parameters: { name: string; schema: object }[];
    };
    expect(list.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['compoundId', 'states', 'limit']),
    );
    const schemas = (
      document.components as { schemas: Record<string, { properties?: Record<string, object> }> }
    ).schemas;
    expect(schemas['google.protobuf.Timestamp']).toMatchObject({ type: 'string', format: 'date-time' });
    const records = document.paths['/v1/compounds/{compound_id}/access-records']?.get as
      { summary: string; parameters: { name: string }[] } | undefined;
    expect(records?.summary).toBe('ListAccessRecords');
    expect(records?.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['compound_id', 'doorId', 'personId', 'decision', 'reveal']),
    );
    expect(schemas['anfang.alarm.v1.AlarmState']).toMatchObject({
      type: 'string',
      enum: expect.arrayContaining(['ALARM_STATE_NEW']),
    });
  });
});
