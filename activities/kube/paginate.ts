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
