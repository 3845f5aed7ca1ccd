// Types for the parts of @20minutes/s3rver (which ships none) that s3.ts uses.
declare module '@20minutes/s3rver' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  interface S3rverOptions {
    directory: string;
    silent?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs: string[] }[];
  }
  interface StoredObject {
    bucket: string;
    key: string;
    content: NodeJS.ReadableStream | Buffer;
    metadata: Record<string, string>;
  }
  interface FilesystemStore {
    putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
    /** Writes `content` to `filePath`; resolves to its length and MD5 (hex). */
    putContent(filePath: string, content: StoredObject['content']): Promise<[number, string]>;
    deleteObject(bucket: string, key: string): Promise<unknown>;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
    getResourcePath(bucket: string, key: string, resource: string): string;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    store: FilesystemStore;
    configureBuckets(): Promise<void>;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}

declare module '@20minutes/s3rver/lib/models/account.js' {
  interface AWSAccount {
    createKeyPair(accessKeyId: string, secretAccessKey: string): void;
    revokeAccessKey(accessKeyId: string): void;
  }
  const accountModel: { DUMMY_ACCOUNT: AWSAccount };
  export default accountModel;
}
