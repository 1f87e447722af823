// age encryption of the secret-bearing files (age-encryption, the reference format): the standard
// `age -d -i key.txt FILE | gunzip` reads them without this project.
import { ApplicationFailure } from '@temporalio/common';
import { Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import { BACKUP_INVALID } from '../../contract/failures.ts';

export async function ageEncrypt(data: Uint8Array, recipients: readonly string[]): Promise<Uint8Array> {
  if (!recipients.length) throw new Error('no age recipient: refusing to write secrets in plain text');
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return e.encrypt(data);
}

/** Identities from an age identity file's text (AGE-SECRET-KEY-... lines; # comments). */
export function parseIdentities(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Recipients from a recipients file's text (age1... lines; # comments). */
export function parseRecipients(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export async function ageDecrypt(data: Uint8Array, identityText: string, what: string): Promise<Uint8Array> {
  const identities = parseIdentities(identityText);
  if (!identities.length) throw invalid(`${what}: the age identity is empty`);
  const d = new Decrypter();
  try {
    for (const id of identities) d.addIdentity(id);
  } catch {
    throw invalid(`${what}: the age identity is not an AGE-SECRET-KEY (check the reference)`);
  }
  try {
    return await d.decrypt(data);
  } catch (err) {
    // The library's message says "no identity matched any of the file's recipients" (never the key).
    throw invalid(
      `${what}: cannot decrypt with the given age identity (wrong key, or a corrupted file): ${(err as Error).message}`,
    );
  }
}

/** The recipients an identity decrypts for (to tell an operator which key a backup needs). */
export async function recipientOf(identity: string): Promise<string> {
  return identityToRecipient(identity);
}

const invalid = (message: string) => ApplicationFailure.create({ type: BACKUP_INVALID, message, nonRetryable: true });
