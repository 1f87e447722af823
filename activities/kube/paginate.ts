// Lists every item of a collection, page by page, so that large clusters never arrive in one response.
export interface Page<T> {
  items: T[];
  metadata?: { _continue?: string };
}

export const PAGE_SIZE = 500;

export async function listAllPages<T>(fetchPage: (cont: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const page = await fetchPage(cont);
    items.push(...page.items);
    cont = page.metadata?._continue || undefined;
  } while (cont);
  return items;
}

/**
 * A CustomObjectsApi list is raw JSON: its continue token is `metadata.continue`, not the typed
 * models' `_continue` that listAllPages follows (reading `_continue` would stop after one page).
 */
export function customObjectPage<T>(body: unknown): {
  items: T[];
  metadata?: { _continue?: string; remainingItemCount?: number };
} {
  const list = body as { items?: T[]; metadata?: { continue?: string; remainingItemCount?: number } };
  const cont = list.metadata?.continue;
  const remaining = list.metadata?.remainingItemCount;
  return {
    items: list.items ?? [],
    metadata: {
      ...(cont ? { _continue: cont } : {}),
      ...(typeof remaining === 'number' ? { remainingItemCount: remaining } : {}),
    },
  };
}
