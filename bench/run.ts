// `npm run bench -- NAME [args]`: runs bench/NAME.ts on the project's Node; each benchmark prints
// one JSON result line last.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const [name, ...args] = process.argv.slice(2);
const dir = fileURLToPath(new URL('.', import.meta.url));
const known = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.includes('-fixture'))
  .map((f) => f.slice(0, -3));
if (!name || !/^[a-z0-9-]+$/.test(name) || !existsSync(`${dir}/${name}.ts`)) {
  console.error(`usage: npm run bench -- NAME (known: ${known.join(', ') || 'none'})`);
  process.exit(2);
}
const result = await execa(process.execPath, [`${dir}/${name}.ts`, ...args], { stdio: 'inherit', reject: false });
process.exitCode = result.exitCode ?? 1;
