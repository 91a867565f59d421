import {
  createPrivateKey,
  createSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from 'node:crypto';

export interface SigningKey {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly expiresAt: number;
}

// A minimal DER writer: enough for one self-signed certificate, so the CLI needs no X.509 library.
function der(tag: number, content: Buffer): Buffer {
  const length =
    content.length < 0x80
      ? Buffer.from([content.length])
      : (() => {
          const bytes: number[] = [];
          for (let n = content.length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
          return Buffer.from([0x80 | bytes.length, ...bytes]);
        })();
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const sequence = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
/** A DER INTEGER of an unsigned big-endian value: minimal, no leading zero octets unless the sign needs one. */
const integer = (bytes: Buffer) => {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.length ? bytes.subarray(start) : Buffer.from([0]);
  return der(0x02, (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
};

/**
 * A certificate serial as RFC 5280 (4.1.2.2) wants it and strict parsers (OpenSSL) demand: positive,
 * not zero, at most 20 octets, minimally encoded. Random bytes with a set top bit would need a sign
 * octet, and leading zero octets are illegal padding, which OpenSSL refuses.
 */
export function serialNumber(random: Buffer): Buffer {
  const bytes = Buffer.from(random.subarray(0, 20));
  if (bytes[0] !== undefined) bytes[0] &= 0x7f;
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return start === bytes.length ? Buffer.from([1]) : bytes.subarray(start);
}
const oid = (dotted: string) => {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
};
const utcTime = (ms: number) =>
  der(0x17, Buffer.from(`${new Date(ms).toISOString().slice(2, 19).replace(/[-:T]/g, '')}Z`));
const name = (commonName: string) =>
  sequence(der(0x31, sequence(oid('2.5.4.3'), der(0x0c, Buffer.from(commonName)))));
const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), der(0x05, Buffer.alloc(0)));

/**
 * A new 2048-bit RSA key and a self-signed certificate for ServiceNow's JWT verifier map. ServiceNow
 * only checks assertions' signatures against the certificate it holds, so no CA is involved.
 */
export function generateSigningKey(options: {
  readonly subject: string;
  readonly now: number;
  readonly days: number;
  /** For tests: the random bytes the serial is made from, and a key pair to reuse. */
  readonly serialBytes?: Buffer;
  readonly keyPair?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
}): SigningKey {
  const { privateKey, publicKey } = options.keyPair ?? generateKeyPairSync('rsa', { modulusLength: 2048 });
  const expiresAt = Math.floor((options.now + options.days * 86_400_000) / 1000) * 1000;
  const subject = name(options.subject.replace(/[^\w .-]/g, '-').slice(0, 64));
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))),
    integer(serialNumber(options.serialBytes ?? randomBytes(16))),
    SHA256_WITH_RSA,
    subject,
    sequence(utcTime(options.now - 60_000), utcTime(expiresAt)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = createSign('RSA-SHA256').update(tbs).sign(privateKey);
  const certificate = sequence(tbs, SHA256_WITH_RSA, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const certificatePem = `-----BEGIN CERTIFICATE-----\n${certificate
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END CERTIFICATE-----\n`;
  // Parsing it back proves the encoding: node's own X.509 reader must accept it.
  new X509Certificate(certificatePem);
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem,
    expiresAt,
  };
}

/** Reads an operator-supplied key and certificate, and checks they belong together. */
export function readSigningKey(privateKeyPem: string, certificatePem: string): SigningKey {
  const certificate = new X509Certificate(certificatePem);
  if (!certificate.checkPrivateKey(createPrivateKey(privateKeyPem))) {
    throw new Error('the private key does not belong to the certificate');
  }
  return { privateKeyPem, certificatePem, expiresAt: Date.parse(certificate.validTo) };
}
