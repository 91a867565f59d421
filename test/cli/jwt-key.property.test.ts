import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, serialNumber } from '../../cli/jwt-key';

// One key pair for every run: the property is about the certificate's encoding, not the key.
const keyPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOW = Date.UTC(2026, 10, 29, 22, 0);

describe('self-signed certificates for the JWT bearer grant', () => {
  it('parse with OpenSSL (node:crypto X509Certificate) whatever random bytes the serial is made from', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 32 }),
        fc.string({ minLength: 1, maxLength: 80 }),
        (random, subject) => {
          const { certificatePem } = generateSigningKey({
            subject,
            now: NOW,
            days: 730,
            serialBytes: Buffer.from(random),
            keyPair,
          });

          const parsed = new X509Certificate(certificatePem);
          const serial = Buffer.from(parsed.serialNumber.padStart(2, '0'), 'hex');
          expect(serial.length).toBeLessThanOrEqual(20);
          expect(BigInt(`0x${parsed.serialNumber}`)).toBeGreaterThan(0n);
          expect(parsed.verify(keyPair.publicKey)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['a leading zero octet (illegal padding)', [0x00, 0x12, 0x34], '1234'],
    ['a set top bit (negative without a sign octet)', [0x80, 0x01], '01'],
    ['all zeros (serials are positive)', [0x00, 0x00], '01'],
    ['more than 20 octets', new Array(25).fill(0x11), '11'.repeat(20)],
  ])('normalises a serial with %s', (_case, bytes, hex) => {
    expect(serialNumber(Buffer.from(bytes)).toString('hex')).toBe(hex);
  });
});
