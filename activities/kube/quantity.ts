// Kubernetes resource quantities ("250m", "1Gi", "2") as numbers, for summing requests.
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The quantity's value in base units (cores, bytes); NaN when it is not a quantity. */
export function parseQuantity(quantity: string): number {
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(quantity.trim());
  if (!match) return Number.NaN;
  const [, number, suffix = ''] = match;
  const factor = BINARY[suffix] ?? DECIMAL[suffix];
  return factor === undefined ? Number.NaN : Number(number) * factor;
}
