// The environment contract of the local stack (README "The local stack"): what `npm run dev:up` writes to
// .dev/env.json and what e2e specs, benchmarks and the demo read. Paths are absolute.
import { readFileSync } from 'node:fs';

export interface StackEnv {
  kubeconfigs: { admin: string; alice: string; bob: string; carol: string; kubescribe: string };
  /** ssh: the same repository over SSH; clusterUrl: the same repository as pods on the node reach it (only when a node is up). */
  git: {
    url: string; username: string; password: string; branch: string; root: string; clusterUrl?: string;
    /** The same repository over SSH: a client key the server accepts, its host key in known_hosts format. */
    ssh: { url: string; identityFile: string; knownHostsFile: string };
  };
  /** Whether a node runs pods (node.ts), the kubescribe image loaded into it, and why not. */
  node: { ready: boolean; image?: string; reason?: string };
  /** pid and metricsUrl: the leader's at start; replicas: every replica (one unless KUBESCRIBE_REPLICAS). */
  kubescribe?: { metricsUrl: string; pid: number; webhookUrl: string; settings: string; dataDir: string; log: string; replicas: Array<{ pid: number; metricsUrl: string }> };
  apiserver: { server: string; caFile: string; pid: number };
  bin: { kubectl: string; helm: string; kscp: string };
  logs: string;
  stackDir: string;
}

export function loadEnv(file: string): StackEnv {
  return JSON.parse(readFileSync(file, 'utf8')) as StackEnv;
}
