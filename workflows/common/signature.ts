/**
 * The @noble modules are required where they are used, not imported at the top: a workflow's module scope is
 * evaluated for every run, and most runs verify no signature (the curve's setup is the costly part).
 */
const ed25519 = () => (require('@noble/curves/ed25519') as typeof import('@noble/curves/ed25519')).ed25519;
const hashes = () => ({
  sha256: (require('@noble/hashes/sha2') as typeof import('@noble/hashes/sha2')).sha256,
  bytesToHex: (require('@noble/hashes/utils') as typeof import('@noble/hashes/utils')).bytesToHex,
});

/**
 * Ed25519 verification in pure code (@noble/curves, audited, no I/O and no randomness), so a workflow checks an
 * approver's signature itself, deterministically on replay, and an Update validator (synchronous) can refuse a bad
 * one at once. Keys and signatures travel as base64; the signer is node:crypto (shared/node/approvals/).
 */
export function verifyEd25519(publicKeyBase64: string, message: string, signatureBase64: string): boolean {
  try {
    return ed25519().verify(fromBase64(signatureBase64), new TextEncoder().encode(message), fromBase64(publicKeyBase64));
  } catch {
    // A malformed key or signature (wrong length, not on the curve) verifies nothing.
    return false;
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 to bytes without Buffer or atob (neither is in the workflow sandbox). Throws on a character outside it. */
function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let out = 0;
  for (const char of clean) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) throw new Error('not base64');
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[out++] = (buffer >> bits) & 0xff;
    }
  }
  return bytes.subarray(0, out);
}

/** sha256 (hex) of a text, in pure code (@noble/hashes): the same digest node:crypto gives. */
export function sha256Hex(text: string): string {
  const { sha256, bytesToHex } = hashes();
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}
