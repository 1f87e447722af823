// Deep merge of Helm values (objects merge, everything else replaces), like helm's own --set layering.
export type Values = Record<string, unknown>;

const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergeValues(base: Values, ...layers: Values[]): Values {
  const out: Values = { ...base };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      const current = out[key];
      out[key] = isObject(current) && isObject(value) ? mergeValues(current, value) : value;
    }
  }
  return out;
}
