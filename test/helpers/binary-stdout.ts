// A command's stdout byte for byte. execa strips a final newline by default, from a Buffer too: it cut
// the last byte of an age file or a gzip stream whenever that byte was 0x0a (1 file in 256; a CI run
// failed on it as "invalid tag").
import { execa } from 'execa';

export async function binaryStdout(file: string, args: readonly string[]): Promise<Buffer> {
  const { stdout } = await execa(file, args, { encoding: 'buffer', stripFinalNewline: false });
  return Buffer.from(stdout);
}
