export { createKubeApi, KubeApiError, type KubeApi } from './kube-api.ts';
export { loadKubeConnection, type KubeConnection } from './kube-config.ts';
export { runListWatch, ListWatchControl, type ListWatchHandler, type WatchEvent } from './list-watch.ts';
export { resourcePath, parseResourceName, discoverAll } from './discovery.ts';
export { ChangeDetector, type Prepare, type Prepared } from './change-detector.ts';
export { WatchManager, type WatchSink } from './watch-manager.ts';
