/**
 * The HTTP side of `google.api.http` bindings: path templates compiled to matchers, and the
 * request message assembled from the path variables, the query string and the body, as the
 * annotation's rules say (https://google.aip.dev/127): body `*` takes every field the path does
 * not bind; body `field` puts the JSON body into that field and leaves the others to the query;
 * no body leaves every field the path does not bind to the query.
 */
import type { HttpRule } from '@anfang/contracts';
import { InvalidArgumentError } from '@anfang/platform/grpc';
import { snakeToCamel } from './proto-json.ts';

export interface CompiledTemplate {
  readonly regex: RegExp;
  /** Field paths (lowerCamelCase, dotted) bound by the template, in order. */
  readonly variables: readonly string[];
  /** Literal characters: more literal = more specific, tried first. */
  readonly specificity: number;
}

const VARIABLE = /\{([a-z0-9_.]+)\}/g;

export function compileTemplate(path: string): CompiledTemplate {
  if (/[=*]/.test(path)) throw new Error(`path template ${path}: only {field} variables are supported`);
  const variables: string[] = [];
  let pattern = '';
  let last = 0;
  for (const match of path.matchAll(VARIABLE)) {
    pattern += escape(path.slice(last, match.index));
    // A variable is one segment; it cannot swallow a custom verb (`{id}:acknowledge`).
    pattern += '([^/:]+)';
    variables.push(match[1]!.split('.').map(snakeToCamel).join('.'));
    last = match.index + match[0].length;
  }
  pattern += escape(path.slice(last));
  return {
    regex: new RegExp(`^${pattern}$`),
    variables,
    specificity: path.replace(VARIABLE, '').length,
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The variables of a matching path (decoded), or undefined when it does not match. */
export function matchTemplate(template: CompiledTemplate, path: string): Record<string, string> | undefined {
  const match = template.regex.exec(path);
  if (!match) return undefined;
  const out: Record<string, string> = {};
  template.variables.forEach((name, i) => {
    try {
      out[name] = decodeURIComponent(match[i + 1]!);
    } catch {
      throw new InvalidArgumentError(`path variable ${name} is not valid percent-encoding`);
    }
  });
  return out;
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown, what: string): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) node = node[part] = {} as Record<string, unknown>;
    else if (typeof next === 'object' && next !== null && !Array.isArray(next))
      node = next as Record<string, unknown>;
    else throw new InvalidArgumentError(`${what} ${dotted} conflicts with another value`);
  }
  node[parts.at(-1)!] = value;
}

/**
 * The request message as proto3 JSON (field names lowerCamelCase or as sent), before it is
 * checked against the message type. Path variables win over the body and the query (the URL
 * names the resource).
 */
export function assembleRequest(
  rule: HttpRule,
  variables: Record<string, string>,
  query: Readonly<Record<string, unknown>>,
  body: unknown,
): Record<string, unknown> {
  let request: Record<string, unknown> = {};
  if (rule.body === '*') {
    if (body !== undefined) {
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new InvalidArgumentError('the request body must be a JSON object');
      request = structuredClone(body) as Record<string, unknown>;
    }
  } else {
    for (const [key, value] of Object.entries(query)) {
      const parsed = typeof value === 'string' || Array.isArray(value) ? value : undefined;
      if (parsed === undefined) throw new InvalidArgumentError(`query parameter ${key} is malformed`);
      setPath(request, key.split('.').map(snakeToCamel).join('.'), parsed, 'query parameter');
    }
    if (rule.body !== '' && body !== undefined) request[snakeToCamel(rule.body)] = body;
  }
  for (const [name, value] of Object.entries(variables)) setPath(request, name, value, 'path variable');
  return request;
}
