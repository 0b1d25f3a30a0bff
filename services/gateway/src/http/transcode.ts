/**
 * REST → gRPC for every `google.api.http` binding of every routed service (see README,
 * "REST transcoding"): match the path template, check role and scope, build the request message
 * from path, query and body as canonical proto3 JSON, call the service with a caller token of
 * the signed-in principal and a deadline, answer its response as proto3 JSON with personal data
 * masked, and audit writes and unmasked reads. No maintained Node library does this: it is ours.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import { reflectionRoot, services, type HttpRule, type MethodSpec } from '@anfang/contracts';
import type { CallerTokens } from '@anfang/platform/auth';
import {
  createGrpcClient,
  DomainError,
  InvalidArgumentError,
  PermissionDeniedError,
  UnavailableError,
  type GrpcClientHandle,
} from '@anfang/platform/grpc';
import type { Type } from 'protobufjs';
import { requireCurrentPassword } from '../auth/sign-in.ts';
import type { AuditEntry } from '../domain/audit-chain.ts';
import { carriesPersonalData, maskJson } from '../domain/masking.ts';
import { REVEAL_ROLES, rolesFor } from '../domain/policy.ts';
import { callerOf, inScope, type Principal } from '../domain/principal.ts';
import { messageToJson, objectFromJson } from '../domain/proto-json.ts';
import { assembleRequest, compileTemplate, matchTemplate, type CompiledTemplate } from '../domain/routes.ts';
import { isRouted, UPSTREAMS, type RoutedService } from '../upstreams.ts';
import { auditBase, principalOf } from './context.ts';

export const PURPOSE_HEADER = 'x-anfang-purpose';

export interface Binding {
  readonly service: RoutedService;
  /** The client method key (lowerCamelCase). */
  readonly key: string;
  readonly method: MethodSpec & { readonly path: string };
  readonly rule: HttpRule;
  readonly template: CompiledTemplate;
  readonly requestType: Type;
  readonly responseType: Type;
}

/** Every binding of every routed service, most specific template first. */
export function bindings(): Binding[] {
  const root = reflectionRoot();
  const out: Binding[] = [];
  for (const [serviceName, spec] of Object.entries(services)) {
    if (!isRouted(serviceName)) continue;
    for (const [key, method] of Object.entries(
      spec.methods as Record<string, MethodSpec & { path: string }>,
    )) {
      if (method.requestStream) continue; // no HTTP/1.1 shape for client streams; none is annotated
      for (const rule of method.http)
        out.push({
          service: serviceName,
          key,
          method,
          rule,
          template: compileTemplate(rule.path),
          requestType: root.lookupType(method.requestTypeName),
          responseType: root.lookupType(method.responseTypeName),
        });
    }
  }
  return out.sort((a, b) => b.template.specificity - a.template.specificity);
}

type AnyCall = (request: unknown, options: object) => Promise<unknown> | AsyncIterable<unknown>;

export interface TranscoderDeps {
  /** gRPC address per upstream name; a service without one answers 503. */
  readonly addresses: Readonly<Partial<Record<string, string>>>;
  /** The caller tokens of signed-in users (minted once per user and purpose, then reused). */
  readonly callerTokens: CallerTokens;
  readonly deadlineMs: number;
  readonly audit: (entry: AuditEntry) => Promise<unknown>;
}

/** The purpose header, percent-encoded (headers carry Latin-1 only, purposes are often Chinese). */
export function purposeOf(header: string | undefined): string {
  let value = header ?? '';
  try {
    value = decodeURIComponent(value);
  } catch {
    // not percent-encoding: taken as sent
  }
  return value.trim().slice(0, 200);
}

function compoundIdsOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) compoundIdsOf(v, out);
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      if ((k === 'compoundId' || k === 'compoundIds') && (typeof v === 'string' || Array.isArray(v)))
        for (const id of [v].flat()) {
          if (typeof id === 'string' && id !== '') out.push(id);
        }
      else compoundIdsOf(v, out);
    }
  return out;
}

const targetOf = (binding: Binding, variables: Record<string, string>): string =>
  `${binding.method.path}${Object.keys(variables).length ? ` ${JSON.stringify(variables)}` : ''}`;

export function transcoder(
  router: Router,
  deps: TranscoderDeps,
): { close(): void; bindings: readonly Binding[] } {
  const all = bindings();
  const byMethod = new Map<string, Binding[]>();
  for (const b of all) byMethod.set(b.rule.method, [...(byMethod.get(b.rule.method) ?? []), b]);
  const clients = new Map<string, GrpcClientHandle & Record<string, AnyCall>>();
  for (const [serviceName, upstream] of Object.entries(UPSTREAMS)) {
    const address = deps.addresses[upstream];
    if (!address) continue;
    const spec = services[serviceName as RoutedService];
    clients.set(
      serviceName,
      createGrpcClient(spec.definition, address, {
        deadlineMs: deps.deadlineMs,
      }) as unknown as GrpcClientHandle & Record<string, AnyCall>,
    );
  }

  const handle = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    let found: { binding: Binding; variables: Record<string, string> } | undefined;
    for (const binding of byMethod.get(req.method) ?? []) {
      const variables = matchTemplate(binding.template, req.path);
      if (variables) {
        found = { binding, variables };
        break;
      }
    }
    if (!found) return next();
    const { binding, variables } = found;
    const principal = principalOf(res);
    const write = binding.rule.method !== 'GET';
    const audited = async (outcome: string, purpose = '', action?: string) =>
      deps.audit({
        ...auditBase(req, principal),
        action: action ?? `rpc.${binding.method.originalName}`,
        target: targetOf(binding, variables),
        outcome,
        purpose,
        details: { http: `${req.method} ${binding.rule.path}` },
      });
    try {
      await forward(req, res, binding, variables, principal, audited, write);
    } catch (error) {
      if (write) await audited(error instanceof DomainError ? (error.reason ?? error.name) : 'error');
      throw error;
    }
  };

  const forward = async (
    req: Request,
    res: Response,
    binding: Binding,
    variables: Record<string, string>,
    principal: Principal,
    audited: (outcome: string, purpose?: string, action?: string) => Promise<unknown>,
    write: boolean,
  ): Promise<void> => {
    requireCurrentPassword(principal);
    const roles = rolesFor(binding.service, binding.method.originalName, binding.rule.method);
    if (!roles.includes(principal.role))
      throw new PermissionDeniedError(`role ${principal.role} may not call ${binding.method.originalName}`, {
        reason: 'ROLE_NOT_ALLOWED',
      });
    if (req.body === undefined && Number(req.get('content-length') ?? 0) > 0)
      throw new InvalidArgumentError('the request body must be application/json');
    const json = assembleRequest(binding.rule, variables, req.query as Record<string, unknown>, req.body);
    const plain = objectFromJson(binding.requestType, json);
    for (const compoundId of compoundIdsOf(plain))
      if (!inScope(principal, compoundId))
        throw new PermissionDeniedError(`compound ${compoundId} is outside your scope`, {
          reason: 'OUT_OF_SCOPE',
        });
    let message;
    try {
      message = binding.requestType.fromObject(plain);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : 'the request does not fit');
    }

    const reveal = plain.reveal === true;
    const purpose = purposeOf(req.get(PURPOSE_HEADER));
    if (reveal) {
      if (!REVEAL_ROLES.includes(principal.role))
        throw new PermissionDeniedError(`role ${principal.role} may not see personal data unmasked`, {
          reason: 'REVEAL_NOT_ALLOWED',
        });
      if (purpose === '')
        throw new InvalidArgumentError(`unmasked personal data need a purpose (${PURPOSE_HEADER} header)`, [
          { field: PURPOSE_HEADER, description: 'required with reveal' },
        ]);
    }

    const client = clients.get(binding.service);
    if (!client)
      throw new UnavailableError(`${UPSTREAMS[binding.service]} is not deployed here`, {
        reason: 'SERVICE_UNAVAILABLE',
      });
    const metadata = await deps.callerTokens.metadata(callerOf(principal, reveal ? purpose : undefined));
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    const options = { metadata, signal: aborted.signal, deadlineMs: deps.deadlineMs };
    const toJson = (m: unknown) => {
      const out = messageToJson(binding.responseType, m);
      return reveal ? out : maskJson(binding.responseType, out);
    };

    if (binding.method.responseStream) {
      const stream = client[binding.key]!(message, options) as AsyncIterable<unknown>;
      const iterator = stream[Symbol.asyncIterator]();
      // The first message (or the error) decides the status; later errors end the stream with a line.
      const first = await iterator.next();
      res.status(200).type('application/x-ndjson');
      if (!first.done) res.write(`${JSON.stringify(toJson(first.value))}\n`);
      try {
        for (let next = first.done ? first : await iterator.next(); !next.done; next = await iterator.next())
          res.write(`${JSON.stringify(toJson(next.value))}\n`);
      } catch (error) {
        const problem = error instanceof DomainError && error.isPublic ? error.message : 'internal error';
        res.write(
          `${JSON.stringify({ error: { status: error instanceof DomainError ? error.httpStatus : 500, detail: problem } })}\n`,
        );
      }
      res.end();
    } else {
      const response = await (client[binding.key]!(message, options) as Promise<unknown>);
      res.json(toJson(response));
    }
    if (write) await audited('ok', purpose);
    if (reveal && carriesPersonalData(binding.responseType))
      await audited('ok', purpose, 'personal-data.read');
  };

  router.use(handle);
  return {
    bindings: all,
    close: () => {
      for (const client of clients.values()) client.close();
    },
  };
}
