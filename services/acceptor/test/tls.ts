/**
 * A throw-away PKI made with the `openssl` command at test time: a CA, a server
 * certificate for 127.0.0.1/localhost, a client certificate, and a second CA (with its
 * own client certificate) the server does not trust.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestPki {
  readonly dir: string;
  /** File paths (for SEDIMENT_TLS_* settings). */
  readonly files: {
    caCert: string;
    serverCert: string;
    serverKey: string;
  };
  /** PEM contents (for clients). */
  readonly ca: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  readonly strangerCert: Buffer;
  readonly strangerKey: Buffer;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** EC P-256 keys: fast to generate. Valid for two days. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sediment-pki-'));
  const key = (name: string) =>
    openssl(dir, [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      name,
    ]);
  const ca = (name: string, cn: string) => {
    key(`${name}.key`);
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  };
  const leaf = (name: string, caName: string, cn: string, ext: string) => {
    key(`${name}.key`);
    openssl(dir, [
      'req',
      '-new',
      '-key',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
    ]);
    return writeFile(path.join(dir, `${name}.ext`), ext).then(() =>
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${caName}.crt`,
        '-CAkey',
        `${caName}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ]),
    );
  };
  ca('ca', 'Sediment Test CA');
  ca('other-ca', 'Untrusted Test CA');
  await leaf(
    'server',
    'ca',
    'localhost',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  await leaf(
    'client',
    'ca',
    'otel-client',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  await leaf(
    'stranger',
    'other-ca',
    'stranger',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  const read = (name: string) => readFile(path.join(dir, name));
  return {
    dir,
    files: {
      caCert: path.join(dir, 'ca.crt'),
      serverCert: path.join(dir, 'server.crt'),
      serverKey: path.join(dir, 'server.key'),
    },
    ca: await read('ca.crt'),
    clientCert: await read('client.crt'),
    clientKey: await read('client.key'),
    strangerCert: await read('stranger.crt'),
    strangerKey: await read('stranger.key'),
  };
}
