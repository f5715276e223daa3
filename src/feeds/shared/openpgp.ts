import { createMessage, readKey, readSignature, verify, type Key } from 'openpgp';

/** A public key a provider lists, loaded and checked against the fingerprint the provider names. */
export interface ProviderKey {
  /** Upper-case hex without spaces. */
  fingerprint: string;
  key: Key;
}

export type KeyLoad = { ok: true; key: ProviderKey } | { ok: false; message: string };

/** `C3C7 0670 …` or `c3c70670…` → `C3C70670…`. */
export function normalizeFingerprint(text: string): string {
  return text.replace(/\s+/g, '').toUpperCase();
}

/**
 * Reads an armoured public key and accepts it only when its primary fingerprint is the one the
 * provider metadata lists: a key file swapped on the server must not become a trust anchor.
 */
export async function loadProviderKey(armored: string, listedFingerprint: string): Promise<KeyLoad> {
  let key: Key;
  try {
    key = await readKey({ armoredKey: armored });
  } catch (error) {
    return { ok: false, message: `is not a readable OpenPGP public key: ${(error as Error).message}` };
  }
  const actual = normalizeFingerprint(key.getFingerprint());
  const listed = normalizeFingerprint(listedFingerprint);
  if (actual !== listed) return { ok: false, message: `has fingerprint ${actual}, but the provider metadata lists ${listed}` };
  return { ok: true, key: { fingerprint: actual, key } };
}

export type SignatureCheck =
  | { ok: true; signer: string }
  | { ok: false; reason: 'signature_invalid' | 'unknown_key'; detail: string };

/**
 * Verifies a detached, ASCII-armoured signature over the exact bytes with the provider's keys, at
 * `date` (the workflow clock: key expiry and signature times are judged against it). A signature by
 * any other key is `unknown_key`; an unreadable or failing one is `signature_invalid`.
 */
export async function verifyDetachedSignature(body: Buffer, armoredSignature: string, keys: ProviderKey[], date: Date): Promise<SignatureCheck> {
  let signature: Awaited<ReturnType<typeof readSignature>>;
  try {
    signature = await readSignature({ armoredSignature });
  } catch (error) {
    return { ok: false, reason: 'signature_invalid', detail: `the .asc file is not a readable OpenPGP signature: ${(error as Error).message}` };
  }
  const issuers = signature.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  const signerKey = keys.find((k) => k.key.getKeyIDs().some((id) => issuers.includes(id.toHex().toUpperCase())));
  if (signerKey === undefined) {
    return {
      ok: false,
      reason: 'unknown_key',
      detail: `signed by key id ${issuers.join(', ') || '(none named)'}, which is not among the provider's keys (${keys.map((k) => k.fingerprint).join(', ') || 'none loaded'})`,
    };
  }
  try {
    const message = await createMessage({ binary: new Uint8Array(body) });
    const result = await verify({ message, signature, verificationKeys: [signerKey.key], date, format: 'binary' });
    for (const entry of result.signatures) await entry.verified;
    if (result.signatures.length === 0) return { ok: false, reason: 'signature_invalid', detail: 'the .asc file holds no signature' };
  } catch (error) {
    return { ok: false, reason: 'signature_invalid', detail: `the signature does not verify with key ${signerKey.fingerprint}: ${(error as Error).message}` };
  }
  return { ok: true, signer: signerKey.fingerprint };
}
