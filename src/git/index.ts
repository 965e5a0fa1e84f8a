// The git writer: one writer per (repo, branch) that turns changes into commits and pushes them.
export { GitWriter } from './writer.ts';
export { blobOid } from './blob-oid.ts';
export { fileName, objectPath, validateBaseFolder, type ObjectLocation } from './paths.ts';
export { redactUrl, toGitError } from './git-error.ts';
export { configureGitTransport } from './http-client.ts';
export { isSshUrl } from './ssh-url.ts';
export { closeSshConnections } from './ssh-transport.ts';
export type { CommitInput, CommitSigning, Credentials, SshCredentials, FileChange, GitWriterOptions, PushResult } from './types.ts';
export { loadSigner, type CommitSigner } from './signing.ts';
