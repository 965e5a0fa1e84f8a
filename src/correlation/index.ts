export { correlationKey, scaleContent, type CorrelationKeyParts, type Operation } from './key.ts';
export { CorrelationStore, type Author, type CorrelationStoreOptions } from './store.ts';
