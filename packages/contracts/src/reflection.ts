/**
 * Descriptors of every proto in protos/ (and their imports), for gRPC server reflection and for
 * tools that need reflection over the messages (the gateway's JSON transcoder, OpenAPI).
 *
 * The binary FileDescriptorSet is produced by `buf build` (protoc-exact), the JSON descriptor
 * by protobufjs; both by `pnpm --filter @anfang/contracts codegen`.
 */
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';
import type { INamespace, Root } from 'protobufjs';
import descriptorJson from './generated/descriptor.js';
import { FILE_DESCRIPTOR_SET_BASE64 } from './generated/descriptor-set.ts';

let setBytes: Buffer | undefined;
let files: Buffer[] | undefined;
let root: Root | undefined;

/** The encoded `google.protobuf.FileDescriptorSet` of all protos, dependencies first. */
export function fileDescriptorSet(): Uint8Array {
  setBytes ??= Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64');
  return setBytes;
}

function readVarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    if (pos >= bytes.length) throw new RangeError('truncated varint in FileDescriptorSet');
    const byte = bytes[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, pos];
    shift += 7;
  }
}

/** Each file of the set as an encoded `google.protobuf.FileDescriptorProto`, dependencies first. */
export function fileDescriptorProtos(): readonly Buffer[] {
  if (files) return files;
  const set = Buffer.from(fileDescriptorSet());
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < set.length) {
    const [tag, afterTag] = readVarint(set, pos);
    if (tag !== 0x0a) throw new RangeError(`unexpected tag ${tag} in FileDescriptorSet`);
    const [length, start] = readVarint(set, afterTag);
    out.push(set.subarray(start, start + length));
    pos = start + length;
  }
  files = out;
  return files;
}

/**
 * Input for `new ReflectionService(...)` of `@grpc/reflection` (it reads `fileDescriptorProtos`
 * of each entry). Pass `{ services: [...] }` as its options to list only the services the
 * server actually serves.
 */
export function reflectionPackageDefinition(
  serviceNames: readonly string[],
): Record<string, { readonly fileDescriptorProtos: Buffer[] }> {
  const protos = [...fileDescriptorProtos()];
  return Object.fromEntries(serviceNames.map((name) => [name, { fileDescriptorProtos: protos }]));
}

/** The protobufjs JSON descriptor of all protos (field names in lowerCamelCase). */
export function descriptorJSON(): INamespace {
  return descriptorJson;
}

/** A protobufjs reflection Root over all protos, built on first use. */
export function reflectionRoot(): Root {
  if (!root) {
    const protobuf = createRequire(import.meta.url)('protobufjs') as typeof Protobuf;
    root = protobuf.Root.fromJSON(descriptorJson);
    root.resolveAll();
  }
  return root;
}
