// The custom resources of kubescribe.dev/v1alpha1: GitRepoConfig, WatchRule, ClusterWatchRule.
// These zod schemas are the one source: the TypeScript types are inferred from them and the CRD
// manifests (OpenAPI v3 schemas with defaults and validation) are generated from them
// (crd-manifests.ts, `npm run gen:crds`; a test keeps charts/kubescribe/crds/ equal).
import { z } from 'zod';
import { isAgeRecipient } from '../sanitize/sops-secret.ts';

export const GROUP = 'kubescribe.dev';
export const VERSION = 'v1alpha1';

const dnsName = z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase DNS name');

export const LabelSelectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).optional().describe('Labels that must all be present with these values.'),
  matchExpressions: z.array(z.object({
    key: z.string().min(1),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(z.string()).optional(),
  })).optional().describe('Set-based requirements, all of which must hold.'),
}).describe('A Kubernetes label selector; empty selects everything.');

export const ResourceRuleSchema = z.object({
  apiGroups: z.array(z.string()).min(1).describe('API groups ("" for core, "*" for all).'),
  resources: z.array(z.string().min(1)).min(1).describe('Plural resource names ("*" for all that can be listed and watched).'),
  operations: z.array(z.enum(['CREATE', 'UPDATE', 'DELETE', '*'])).default(['*']).describe('Which changes to record.'),
});

const PushSchema = z.object({
  intervalSeconds: z.number().int().min(1).max(3600).default(1).describe('Push batched commits at this interval.'),
  maxCommits: z.number().int().min(1).max(10000).default(200).describe('Push at once when this many commits wait.'),
});

const CommitSchema = z.object({
  authorEmailTemplate: z.string().min(1).default('{user}@users.kubescribe.dev').describe('Author email; {user} is replaced by the username (characters unfit for an email replaced by -).'),
  signing: z.object({
    secretRef: z.object({
      name: dnsName.describe('A Secret in the same namespace with signing.key: an OpenSSH/PEM private key (ed25519 or RSA; SSH signatures, gpg.format=ssh) or an armored OpenPGP private key; optional signing.passphrase.'),
    }),
  }).optional().describe('Sign every commit (and every replayed one) with this key; the committer (kubescribe) is the signer, the author stays the Kubernetes user. Fail closed: without a usable key nothing is committed. The public key and fingerprint are published in .status.signing.'),
});

const SecretEncryptionSchema = z.object({
  ageRecipients: z.array(z.string().regex(/^age1[0-9a-z]{20,}$/, 'must be an age public key (age1...)').refine(isAgeRecipient, 'is not a valid age public key (checksum)')).min(1).max(32)
    .describe('age public keys: Secret data/stringData values are written encrypted with SOPS to these recipients (decrypt with `sops --decrypt` and one of their identities); metadata stays readable.'),
}).describe('Opt-in reversible Secret encryption (SOPS + age). Absent: Secret values are replaced by a keyed hash.');

export const GitRepoConfigSpecSchema = z.object({
  url: z.string().min(1).regex(/^(https?:\/\/[^\s]+|ssh:\/\/[^\s]+|[^\s@/:]+@[^\s/:]+:[^\s]+)$/, 'must be an http(s) URL, an ssh:// URL or user@host:path').describe('The Git repository: https://…, ssh://user@host[:port]/path or user@host:path.'),
  secretRef: z.object({
    name: dnsName.describe('A Secret in the same namespace: username and password, or token (HTTP); identity, known_hosts, optional password as passphrase (SSH, as Flux) or sshPrivateKey (SSH, as Argo CD) with known_hosts.'),
  }).optional().describe('Credentials; omit for a repository that needs none.'),
  allowedBranches: z.array(z.string().min(1)).min(1).default(['*']).describe('Globs of the branches that rules may write to.'),
  push: PushSchema.prefault({}).describe('Push batching.'),
  commit: CommitSchema.prefault({}).describe('Commit settings.'),
  secretEncryption: SecretEncryptionSchema.optional(),
});

const ruleSpecFields = {
  gitRepoConfigRef: z.object({ name: dnsName }).describe('The GitRepoConfig to write to, in the same namespace.'),
  branch: z.string().min(1).max(255).regex(/^[A-Za-z0-9._/-]+$/, 'must be a valid branch name')
    .refine((b) => !b.startsWith('/') && !b.endsWith('/') && !b.includes('//') && !b.includes('..') && !b.endsWith('.lock'), 'must be a valid branch name (no leading or trailing /, no // or .., not ending in .lock)')
    .default('main').describe('Branch to write; must match the GitRepoConfig allowedBranches.'),
  baseFolder: z.string().max(200).regex(/^([A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)?$/, 'must be a relative folder path without .. or leading /').default('').describe('Folder inside the repository; empty = the root.'),
  rules: z.array(ResourceRuleSchema).min(1).describe('What to record.'),
  labelSelector: LabelSelectorSchema.optional().describe('Only objects with matching labels.'),
  excludeUsers: z.array(z.string().min(1)).default([]).describe('Globs of usernames whose changes are not committed (e.g. a GitOps controller).'),
  excludeFieldManagers: z.array(z.string().min(1)).default([]).describe('Globs of field managers whose changes are not committed.'),
  secretEncryption: SecretEncryptionSchema.optional().describe('Secret encryption for this rule; overrides the GitRepoConfig\'s.'),
};

export const WatchRuleSpecSchema = z.object(ruleSpecFields);

export const ClusterWatchRuleSpecSchema = z.object({
  ...ruleSpecFields,
  gitRepoConfigRef: z.object({ name: dnsName, namespace: dnsName }).describe('The GitRepoConfig to write to.'),
  namespaceSelector: LabelSelectorSchema.optional().describe('Namespaced resources: only in namespaces with matching labels (empty: all).'),
  scope: z.enum(['Cluster', 'Namespaced', 'All']).default('All').describe('Record cluster-scoped resources, namespaced ones, or both.'),
});

export type LabelSelector = z.infer<typeof LabelSelectorSchema>;
export type ResourceRule = z.infer<typeof ResourceRuleSchema>;
export type GitRepoConfigSpec = z.infer<typeof GitRepoConfigSpecSchema>;
export type WatchRuleSpec = z.infer<typeof WatchRuleSpecSchema>;
export type ClusterWatchRuleSpec = z.infer<typeof ClusterWatchRuleSpecSchema>;

export const KINDS = {
  GitRepoConfig: { plural: 'gitrepoconfigs', singular: 'gitrepoconfig', shortNames: ['grc'], namespaced: true, spec: GitRepoConfigSpecSchema },
  WatchRule: { plural: 'watchrules', singular: 'watchrule', shortNames: ['wr'], namespaced: true, spec: WatchRuleSpecSchema },
  ClusterWatchRule: { plural: 'clusterwatchrules', singular: 'clusterwatchrule', shortNames: ['cwr'], namespaced: false, spec: ClusterWatchRuleSpecSchema },
} as const;
export type KindName = keyof typeof KINDS;
