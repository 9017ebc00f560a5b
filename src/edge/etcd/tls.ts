/**
 * The etcd TLS files, read and checked before any connection is made. gRPC only parses them when it first connects,
 * and a garbage CA file then fails every call until its deadline with an error that names no file (exit 1 after the
 * full timeout); checked here, the same mistake is a ConfigError naming the file (exit 2), at once.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../../core/errors.js';

export interface EtcdTlsOptions {
  /** PEM file of the CA that signed the server certificates. */
  readonly caFile: string;
  /** Client certificate and key (PEM files), for servers that require client authentication. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** The files' contents, each known to parse, and the key known to match the certificate. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** PEM files are a few KiB (a CA bundle a few hundred); anything much larger is the wrong file. */
const MAX_PEM_BYTES = 1024 * 1024;

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function loadTlsFiles(tls: EtcdTlsOptions): TlsMaterial {
  const ca = certificates(tls.caFile, 'CA file');
  let material: TlsMaterial = { ca };
  if (tls.certFile !== undefined && tls.keyFile !== undefined) {
    const cert = certificates(tls.certFile, 'certificate file');
    const key = privateKey(tls.keyFile);
    try {
      createSecureContext({ ca, cert, key });
    } catch (err) {
      throw new ConfigError(
        `etcd TLS key file ${tls.keyFile}`,
        `does not go with the certificate in ${tls.certFile}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    material = { ca, cert, key };
  }
  quietIpServername();
  return material;
}

function read(file: string, what: string): Buffer {
  try {
    const size = statSync(file).size;
    if (size > MAX_PEM_BYTES) throw new Error(`it is ${size} bytes long; a PEM file is far smaller`);
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`etcd TLS ${what} ${file}`, `cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/** A PEM file of one or more certificates (a bundle), each of which parses. */
function certificates(file: string, what: string): Buffer {
  const pem = read(file, what);
  const blocks = pem.toString('latin1').match(CERTIFICATE) ?? [];
  const fail = (reason: string, cause?: unknown): never => {
    throw new ConfigError(`etcd TLS ${what} ${file}`, reason, cause === undefined ? {} : { cause });
  };
  if (blocks.length === 0) fail('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      fail(`certificate ${i + 1} of ${blocks.length} cannot be parsed: ${(err as Error).message}`, err);
    }
  });
  return pem;
}

function privateKey(file: string): Buffer {
  const pem = read(file, 'key file');
  try {
    createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new ConfigError(`etcd TLS key file ${file}`, `is not an unencrypted PEM private key: ${(err as Error).message}`, { cause: err });
  }
  return pem;
}

let quieted = false;

/**
 * gRPC sets the TLS server name (SNI) to the endpoint's host even when it is an IP address, and Node warns about
 * that once per process (DEP0123) on the operator's terminal. Servers ignore an IP in SNI and the certificate is
 * still checked against the IP, so that one warning is dropped; every other warning passes.
 */
function quietIpServername(): void {
  if (quieted) return;
  quieted = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]) => {
    const [, typeOrOptions, code] = args;
    const warningCode = typeof typeOrOptions === 'object' && typeOrOptions !== null ? (typeOrOptions as { code?: unknown }).code : code;
    if (warningCode !== 'DEP0123') emit(...args);
  }) as typeof process.emitWarning;
}
