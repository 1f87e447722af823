// Search attribute types by name (as `temporal operator search-attribute create --type` takes them)
// and as the operator API's numbers, for the worker and the client that register them.
import type { temporal } from '@temporalio/proto';

export type IndexedValueType = temporal.api.enums.v1.IndexedValueType;
export type SearchAttributeTypeName = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** temporal.api.enums.v1.IndexedValueType numbers (@temporalio/proto is a dev dependency only: its types, not its values). */
export const INDEXED_VALUE_TYPES: Record<SearchAttributeTypeName, IndexedValueType> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};
