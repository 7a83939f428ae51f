import { describe, expect, it } from 'vitest';
import { ObjectStoreFatalError } from './errors.js';
import { LocalFsStore } from './local-fs-store.js';
import { MemoryStore } from './memory-store.js';
import { openStore, parseStoreUrl } from './open-store.js';
import { S3Store } from './s3-store.js';

const env = {
  S3_ENDPOINT: 'http://127.0.0.1:7480',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'topsecretvalue',
  AWS_REGION: 'eu-west-3',
};

function fails(url: string, e: Record<string, string> = {}): string {
  try {
    openStore(url, e);
  } catch (err) {
    expect(err).toBeInstanceOf(ObjectStoreFatalError);
    return (err as Error).message;
  }
  throw new Error(`openStore(${url}) should have failed`);
}

describe('openStore', () => {
  it('opens memory:, file:// and s3:// stores', async () => {
    expect(openStore('memory:', {})).toBeInstanceOf(MemoryStore);
    const fs = openStore('file:///var/lib/sediment%20data', {});
    expect(fs).toBeInstanceOf(LocalFsStore);
    expect((fs as LocalFsStore).root).toBe('/var/lib/sediment data');
    expect(fs.description).toBe('file:///var/lib/sediment%20data');
    const s3 = openStore('s3://my-bucket/some/prefix/', env);
    expect(s3).toBeInstanceOf(S3Store);
    expect((s3 as S3Store).bucket).toBe('my-bucket');
    expect((s3 as S3Store).prefix).toBe('some/prefix/');
    expect(s3.description).toBe('s3://my-bucket/some/prefix/ (endpoint http://127.0.0.1:7480)');
    expect(s3.description).not.toContain('topsecret');
    expect(openStore('s3://bare-bucket', {}).description).toBe('s3://bare-bucket/');
    await s3.close();
  });

  it('reads the S3 settings from the environment it is given', () => {
    const parsed = parseStoreUrl('s3://b/p', env);
    expect(parsed).toEqual({
      kind: 's3',
      options: {
        bucket: 'b',
        prefix: 'p',
        endpoint: 'http://127.0.0.1:7480',
        region: 'eu-west-3',
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'topsecretvalue' },
      },
    });
    const aws = parseStoreUrl('s3://b', { AWS_DEFAULT_REGION: 'us-west-2' });
    expect(aws).toEqual({
      kind: 's3',
      options: { bucket: 'b', prefix: '', forcePathStyle: false, region: 'us-west-2' },
    });
    const virtualHost = parseStoreUrl('s3://b', { ...env, S3_FORCE_PATH_STYLE: 'false' });
    expect(virtualHost.kind === 's3' && virtualHost.options.forcePathStyle).toBe(false);
    const session = parseStoreUrl('s3://b', { ...env, AWS_SESSION_TOKEN: 'tok' });
    expect(session.kind === 's3' && session.options.credentials).toEqual({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'topsecretvalue',
      sessionToken: 'tok',
    });
  });

  it('names the problem of a bad URL or setting', () => {
    expect(fails('')).toMatch(/empty/);
    expect(fails('nonsense')).toMatch(/not a URL/);
    expect(fails('/var/lib/x')).toMatch(/file:\/\/\/var\/lib\/x/);
    expect(fails('ftp://host/x')).toMatch(/unsupported scheme "ftp:"/);
    expect(fails('file://otherhost/x')).toMatch(/must be local/);
    expect(fails('file:///')).toMatch(/absolute directory other than \//);
    expect(fails('memory://x')).toMatch(/write just "memory:"/);
    expect(fails('s3:///prefix')).toMatch(/missing bucket/);
    expect(fails('s3://bucket:9000/p')).toMatch(/S3_ENDPOINT/);
    expect(fails('s3://b/p?x=1')).toMatch(/query or fragment/);
    expect(fails('s3://b/a//b')).toMatch(/invalid prefix/);
    expect(fails('s3://b/p', { S3_FORCE_PATH_STYLE: 'maybe' })).toMatch(
      /S3_FORCE_PATH_STYLE must be true or false/,
    );
    expect(fails('s3://b/p', { S3_ENDPOINT: 'not a url' })).toMatch(/S3_ENDPOINT .* is not a URL/);
    expect(fails('s3://b/p', { S3_ENDPOINT: 'ftp://x' })).toMatch(/http:\/\/ or https:\/\//);
    expect(fails('s3://b/p', { AWS_ACCESS_KEY_ID: 'only-id' })).toMatch(/both AWS_ACCESS_KEY_ID/);
  });

  it('never echoes credentials from a URL', () => {
    const message = fails('s3://AKID:supersecret@bucket/prefix');
    expect(message).toMatch(/must not carry credentials/);
    expect(message).not.toContain('supersecret');
    expect(message).not.toContain('AKID');
    const endpoint = fails('s3://b/p', { S3_ENDPOINT: 'http://user:pw-secret@[bad' });
    expect(endpoint).not.toContain('pw-secret');
    const store = openStore('s3://b/p', { S3_ENDPOINT: 'http://user:pw-secret@host:7480/' });
    expect(store.description).toBe('s3://b/p/ (endpoint http://host:7480)');
  });
});
