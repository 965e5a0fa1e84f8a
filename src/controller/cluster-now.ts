// This cluster now, for checking the branches' checkpoints: the uid of its kube-system namespace (its
// identity) and its current resourceVersion, in one list call. On failure, the identity known so far.
import type { Logger } from 'pino';
import type { KubeObject } from '../kube-object.ts';
import type { KubeApi } from '../watch/index.ts';

export async function clusterNow(api: KubeApi, log: Logger, knownUid: string | undefined): Promise<{ uid?: string; resourceVersion?: string }> {
  try {
    const list = await api.getJson<{ metadata: { resourceVersion?: string }; items: KubeObject[] }>('/api/v1/namespaces?fieldSelector=metadata.name%3Dkube-system');
    return { uid: list.items[0]?.metadata?.uid ?? knownUid, resourceVersion: list.metadata.resourceVersion };
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not read the cluster identity (kube-system namespace)');
    return { uid: knownUid };
  }
}
