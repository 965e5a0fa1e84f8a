export { changeKeyParts, correlationKey, correlationKeyPrefix, scaleContent, type ChangeIdentity, type CorrelationKeyParts, type Operation } from './key.ts';
export { CorrelationStore, type Author, type CorrelationStoreOptions } from './store.ts';
export type { ChangesChunk } from './change-log.ts';
export { newestManager, resolveAuthor, type ManagedFieldsEntry, type Resolved } from './resolve-author.ts';
export { attributeCause, causeEntry, describeDeleted, findCause, inheritedEntries, isCascadingController, namespaceCauseKey, objectCauseKey, GARBAGE_COLLECTOR, NAMESPACE_CONTROLLER, type Cause, type CauseLookup } from './cause.ts';
export { authorInterner, sharedAuthor, type AuthorInterner } from './author-interner.ts';
