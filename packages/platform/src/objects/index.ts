/**
 * Object storage: any S3 server (through the `minio` client) in the local and Kubernetes modes,
 * a local folder in the embedded mode; one interface (./types.ts), one contract suite. Pick by
 * configuration with `createObjectStore`.
 */
import type { ObjectStore } from './types.ts';
import { createDirectoryObjectStore } from './directory.ts';
import type { DirectoryObjectStore, DirectoryObjectStoreOptions } from './directory.ts';
import { createS3ObjectStore } from './s3.ts';
import type { S3ObjectStoreOptions } from './s3.ts';

export type { ObjectInfo, ObjectStore, PutOptions, LifecycleRule } from './types.ts';
export { ObjectNotFoundError } from './types.ts';
export { InvalidKeyError, MAX_PRESIGN_SECONDS } from './keys.ts';
export { createS3ObjectStore, createDirectoryObjectStore };
export type { S3ObjectStoreOptions, DirectoryObjectStore, DirectoryObjectStoreOptions };
export type { PresignCheck } from './directory.ts';
export { directoryObjectsHandler } from './handler.ts';

export type ObjectStoreConfig =
  | ({ readonly kind: 's3' } & S3ObjectStoreOptions)
  | ({ readonly kind: 'directory' } & DirectoryObjectStoreOptions);

/** The runner's entry: the implementation follows from configuration only. */
export async function createObjectStore(config: ObjectStoreConfig): Promise<ObjectStore> {
  switch (config.kind) {
    case 's3':
      return createS3ObjectStore(config);
    case 'directory':
      return createDirectoryObjectStore(config);
    default: {
      const never: never = config;
      throw new Error(`objects: unknown kind ${(never as { kind: string }).kind}`);
    }
  }
}
