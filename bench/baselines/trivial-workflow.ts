// The one workflow of the minimal SDK worker (bench/baselines/minimal-worker.ts).
export async function trivial(name: string): Promise<string> {
  return `hello ${name}`;
}
