import { Client } from 'minio';
import { infraEnv, withHint } from './env.ts';
import { uniqueName } from './names.ts';

/** A minio client for the infrastructure's S3 store (path-style addressing). */
export function s3Client(): Client {
  const { s3 } = infraEnv();
  const url = new URL(s3.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region,
    pathStyle: true,
  });
}

/**
 * The options of the platform's S3 object store (`createS3ObjectStore`) for `bucket` in the
 * infrastructure's S3 store: for benches and harnesses that use the store as a service does.
 */
export function s3StoreOptions(bucket: string, prefix?: string) {
  const { s3 } = infraEnv();
  return {
    url: s3.endpoint,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region,
    bucket,
    ...(prefix !== undefined ? { prefix } : {}),
  };
}

export interface TestBucket {
  bucket: string;
  /** Removes every object and unfinished upload, then the bucket (idempotent). */
  drop(): Promise<void>;
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

export async function emptyBucket(client: Client, bucket: string): Promise<void> {
  const objects = await collect(client.listObjectsV2(bucket, '', true));
  const names = objects.flatMap((o) => (o.name ? [o.name] : []));
  for (let i = 0; i < names.length; i += 1000) {
    const results = await client.removeObjects(bucket, names.slice(i, i + 1000));
    const failed = results.filter((r) => r && r.Error);
    if (failed.length) throw new Error(`could not remove ${failed.length} objects from ${bucket}`);
  }
  const uploads = await collect(client.listIncompleteUploads(bucket, '', true));
  for (const u of uploads) if (u.key) await client.removeIncompleteUpload(bucket, u.key);
}

/** Creates a fresh bucket in the infrastructure's S3 store. */
export async function createTestBucket(label: string): Promise<TestBucket> {
  const bucket = uniqueName(label);
  const client = s3Client();
  try {
    await client.makeBucket(bucket, infraEnv().s3.region);
  } catch (err) {
    throw withHint(err, `creating test bucket ${bucket}`);
  }
  let dropped = false;
  return {
    bucket,
    async drop() {
      if (dropped) return;
      try {
        if (await client.bucketExists(bucket)) {
          await emptyBucket(client, bucket);
          await client.removeBucket(bucket);
        }
      } catch (err) {
        throw withHint(err, `dropping test bucket ${bucket}`);
      }
      dropped = true;
    },
  };
}
