/**
 * The OpenAPI 3 document of the gateway's REST API, built from the same bindings and protobufjs
 * types the transcoder uses, so that the document and the routes cannot disagree. Written to
 * src/generated/openapi.json by `pnpm run codegen` (scripts/openapi.ts) at build time.
 */
import { reflectionRoot, services, type MethodSpec } from '@anfang/contracts';
import type { Enum, Field, Type } from 'protobufjs';
import { rolesFor } from '../domain/policy.ts';
import { snakeToCamel } from '../domain/proto-json.ts';
import { isRouted, UPSTREAMS } from '../upstreams.ts';

type Schema = Record<string, unknown>;

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const refName = (fullName: string) => fullName.replace(/^\./, '');
const ref = (fullName: string) => ({ $ref: `#/components/schemas/${refName(fullName)}` });

function scalarSchema(type: string): Schema {
  if (INT64.has(type))
    return {
      type: 'string',
      format: type.startsWith('u') || type === 'fixed64' ? 'uint64' : 'int64',
      pattern: '^-?\\d+$',
    };
  if (INT32.has(type)) return { type: 'integer', format: 'int32' };
  if (type === 'double' || type === 'float') return { type: 'number', format: type };
  if (type === 'bool') return { type: 'boolean' };
  if (type === 'bytes') return { type: 'string', format: 'byte' };
  return { type: 'string' };
}

function collect(type: Type, schemas: Record<string, Schema>): void {
  const name = refName(type.fullName);
  if (name in schemas) return;
  if (name === 'google.protobuf.Timestamp') {
    schemas[name] = { type: 'string', format: 'date-time', description: 'RFC 3339 timestamp' };
    return;
  }
  if (name === 'google.protobuf.FieldMask') {
    schemas[name] = { type: 'string', description: 'comma-separated lowerCamelCase field paths' };
    return;
  }
  const properties: Record<string, Schema> = {};
  schemas[name] = { type: 'object', properties, additionalProperties: false };
  if (type.comment) schemas[name]!.description = type.comment;
  for (const field of type.fieldsArray) properties[field.name] = fieldSchema(field, schemas);
}

function fieldSchema(field: Field, schemas: Record<string, Schema>): Schema {
  const resolved = field.resolvedType;
  let single: Schema;
  if (resolved && 'fields' in resolved) {
    collect(resolved as Type, schemas);
    single = ref(resolved.fullName);
  } else if (resolved) {
    const name = refName(resolved.fullName);
    schemas[name] ??= { type: 'string', enum: Object.keys((resolved as Enum).values) };
    single = ref(resolved.fullName);
  } else single = scalarSchema(field.type);
  const described = (s: Schema): Schema =>
    field.comment
      ? s.$ref
        ? { allOf: [s], description: field.comment }
        : { ...s, description: field.comment }
      : s;
  if (field.map) return described({ type: 'object', additionalProperties: single });
  if (field.repeated) return described({ type: 'array', items: single });
  return described(single);
}

/** Query parameters: the scalar (and enum, Timestamp) fields not bound by the path, one level of nesting deep. */
function queryParameters(type: Type, bound: ReadonlySet<string>, prefix = '', depth = 0): Schema[] {
  const out: Schema[] = [];
  for (const field of type.fieldsArray) {
    const name = `${prefix}${field.name}`;
    if (bound.has(name) || field.map) continue;
    const resolved = field.resolvedType;
    const isMessage = resolved && 'fields' in resolved;
    const wkt = isMessage && /^\.?google\.protobuf\.(Timestamp|FieldMask)$/.test(resolved.fullName);
    if (isMessage && !wkt) {
      if (depth === 0) out.push(...queryParameters(resolved as Type, bound, `${name}.`, 1));
      continue;
    }
    let schema: Schema = wkt
      ? { type: 'string', ...(resolved.fullName.endsWith('Timestamp') ? { format: 'date-time' } : {}) }
      : resolved
        ? { type: 'string', enum: Object.keys((resolved as Enum).values) }
        : scalarSchema(field.type);
    if (field.repeated) schema = { type: 'array', items: schema };
    out.push({
      name,
      in: 'query',
      required: false,
      schema,
      ...(field.repeated ? { style: 'form', explode: true } : {}),
      ...(field.comment ? { description: field.comment } : {}),
    });
  }
  return out;
}

export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Schema>>;
  readonly [key: string]: unknown;
}

export function buildOpenApi(version = '0.1.0'): OpenApiDocument {
  const root = reflectionRoot();
  const schemas: Record<string, Schema> = {
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details',
      properties: {
        type: { type: 'string' },
        title: { type: 'string' },
        status: { type: 'integer' },
        detail: { type: 'string' },
        instance: { type: 'string' },
        code: { type: 'string', description: 'the service’s reason, e.g. ZONE_NOT_FOUND' },
        errors: {
          type: 'array',
          items: { type: 'object', properties: { field: { type: 'string' }, detail: { type: 'string' } } },
        },
        trace_id: { type: 'string' },
      },
      required: ['title', 'status'],
    },
  };
  const paths: Record<string, Record<string, Schema>> = {};
  const tags: Schema[] = [];
  for (const [serviceName, spec] of Object.entries(services)) {
    if (!isRouted(serviceName)) continue;
    const tag = serviceName.split('.').at(-1)!;
    tags.push({ name: tag, description: `${serviceName}, served by ${UPSTREAMS[serviceName]}` });
    for (const method of Object.values(spec.methods as Record<string, MethodSpec>)) {
      const requestType = root.lookupType(method.requestTypeName);
      const responseType = root.lookupType(method.responseTypeName);
      collect(requestType, schemas);
      collect(responseType, schemas);
      method.http.forEach((rule, index) => {
        const bound = new Set(rule.pathParams.map((p) => p.split('.').map(snakeToCamel).join('.')));
        const verb = rule.method.toLowerCase();
        const roles = rolesFor(serviceName, method.originalName, rule.method);
        const responseSchema = ref(responseType.fullName);
        const operation: Schema = {
          operationId: `${tag}_${method.originalName}${index > 0 ? `_${index}` : ''}`,
          tags: [tag],
          summary: method.originalName,
          description: `gRPC ${serviceName}/${method.originalName}. Roles: ${roles.join(', ')}.`,
          parameters: [
            ...rule.pathParams.map((p) => ({
              name: p,
              in: 'path',
              required: true,
              schema: { type: 'string' },
            })),
            ...(rule.body === '*' ? [] : queryParameters(requestType, bound)),
          ],
          responses: {
            '200': {
              description: method.responseStream ? 'one JSON message per line' : 'OK',
              content: method.responseStream
                ? { 'application/x-ndjson': { schema: responseSchema } }
                : { 'application/json': { schema: responseSchema } },
            },
            default: {
              description: 'an error (gRPC status mapped to HTTP)',
              content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
            },
          },
        };
        if (rule.body !== '') {
          const bodyField = rule.body === '*' ? undefined : requestType.fields[snakeToCamel(rule.body)];
          operation.requestBody = {
            required: true,
            content: {
              'application/json': {
                schema: bodyField ? fieldSchema(bodyField, schemas) : ref(requestType.fullName),
              },
            },
          };
        }
        (paths[rule.path] ??= {})[verb] = operation;
      });
    }
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Anfang gateway',
      version,
      description:
        'REST/JSON for every public RPC of Anfang, transcoded from the google.api.http annotations of the protos. ' +
        'Authenticate with a session token (POST /auth/login) or an OIDC token as `Authorization: Bearer`.',
    },
    servers: [{ url: '/' }],
    tags,
    security: [{ bearer: [] }, { session: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'anfang_session' },
      },
    },
  };
}
