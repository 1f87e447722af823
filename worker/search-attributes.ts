// The worker makes sure its Temporal namespace knows every runbook's search attributes before it
// polls: a runbook's upsert of an unknown one would fail its workflow task over and over. Missing
// ones are registered (as `temporal operator search-attribute create` does); when the server does
// not let the worker do that (Temporal Cloud, a restricted role) it refuses to start and prints the
// commands for an operator.
import type { NativeConnection } from '@temporalio/worker';
import { RUNBOOK_SEARCH_ATTRIBUTES, searchAttributeCommands } from '../contract/runbook-search-attributes.ts';
import { INDEXED_VALUE_TYPES, type IndexedValueType } from '../contract/search-attribute-types.ts';

export async function ensureRunbookSearchAttributes(
  connection: Pick<NativeConnection, 'operatorService'>,
  namespace: string,
): Promise<{ added: string[] }> {
  const howto = `register them as an operator: ${searchAttributeCommands(namespace).join('; ')} (Temporal Cloud: tcld namespace search-attributes add, or the Cloud UI)`;
  const listed = await connection.operatorService.listSearchAttributes({ namespace }).catch((err: Error) => {
    throw new Error(`cannot list the search attributes of Temporal namespace ${namespace}: ${err.message}; ${howto}`, {
      cause: err,
    });
  });
  const known: Record<string, number> = { ...listed.systemAttributes, ...listed.customAttributes };
  const missing: Record<string, IndexedValueType> = {};
  for (const [name, type] of Object.entries(RUNBOOK_SEARCH_ATTRIBUTES)) {
    const have = known[name];
    if (have === undefined) missing[name] = INDEXED_VALUE_TYPES[type];
    else if (have !== INDEXED_VALUE_TYPES[type])
      throw new Error(
        `search attribute ${name} exists in Temporal namespace ${namespace} with another type (${have}), not ${type}: the runbooks cannot use it`,
      );
  }
  const added = Object.keys(missing);
  if (added.length) {
    await connection.operatorService
      .addSearchAttributes({ namespace, searchAttributes: missing })
      .catch((err: Error) => {
        throw new Error(
          `search attributes ${added.join(', ')} are not registered in Temporal namespace ${namespace}, and the worker may not register them (${err.message}); ${howto}`,
          { cause: err },
        );
      });
  }
  return { added };
}
