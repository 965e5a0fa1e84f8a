// List + watch of one resource type, cluster-wide or in one namespace, forever: list (paged), then
// watch from the list's resourceVersion with bookmarks; a resync (periodic or asked for) lists at the
// last resourceVersion handed on and watches on from there, so nothing is folded; relist on 410 Gone; reconnect with
// exponential backoff (with jitter, at least a 429's Retry-After) on any other error; a watch that
// goes silent (no event, no bookmark within the client's idle bound: half-open) is reopened at once.
// The handler is awaited for every event, so a full queue slows the reading instead of dropping
// anything.
import { Backoff, sleep } from '../backoff.ts';
import type { Logger } from 'pino';
import type { KubeObject, ResourceType } from '../kube-object.ts';
import { KubescribeError } from '../errors.ts';
import { KubeApiError, type KubeApi } from './kube-api.ts';
import { resourcePath } from './discovery.ts';

export interface WatchEvent { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject }

export interface ListWatchHandler<L = KubeObject> {
  /**
   * Turns each listed object into what onList gets, as its page arrives, so that a list of
   * 100,000 objects is never held raw all at once (the peak memory of a start-up).
   */
  prepareListed?(obj: KubeObject): L;
  /** A full list; `relist` is false for the first list after start. */
  onList(items: L[], resourceVersion: string, relist: boolean): Promise<void>;
  onEvent(event: WatchEvent): Promise<void>;
}

export interface ListWatchOptions<L = KubeObject> {
  api: KubeApi;
  type: ResourceType;
  handler: ListWatchHandler<L>;
  signal: AbortSignal;
  logger: Logger;
  backoffMs: number;
  maxBackoffMs: number;
  pageSize?: number;
  /** Server-side watch timeout; the stream is reopened from the last resourceVersion after it. */
  watchTimeoutSeconds?: number;
  /** Relist at this interval (0 = never): the handler then reconciles against the full list. */
  resyncIntervalMs?: number;
  /** Only this namespace / these objects. */
  namespace?: string;
  fieldSelector?: string;
  /** Lets the owner ask for a relist now (e.g. a new rule needs a reconcile). */
  control?: ListWatchControl;
  /**
   * Where the first list starts: a resourceVersion to list AT (then watch from), so that changes
   * since a checkpoint are replayed as events; undefined or compacted (410): list now.
   */
  startFrom?: () => Promise<string | undefined>;
  onSynced?: () => void;
  onError?: (err: unknown) => void;
}

/** Asks a running list-watch loop to relist: its stream is cut and the list runs in the loop. */
export class ListWatchControl {
  requested = false;
  cut: (() => void) | undefined;
  /**
   * The resourceVersion up to which every change has been handed to the handler (a list's, an
   * event's, a bookmark's): a watch that replaces this one lists at it and replays what followed,
   * so nothing between the two is folded into a snapshot without its author.
   */
  handled: string | undefined;
  relist(): void {
    this.requested = true;
    this.cut?.();
  }
}

interface ListResponse { metadata: { resourceVersion: string; continue?: string }; items: KubeObject[]; kind?: string; apiVersion?: string }

export async function runListWatch<L = KubeObject>(o: ListWatchOptions<L>): Promise<void> {
  const prepareListed = o.handler.prepareListed?.bind(o.handler) ?? ((obj: KubeObject) => obj as unknown as L);
  const base = resourcePath(o.type, o.namespace);
  const log = o.logger.child({ resource: `${o.type.group || 'core'}/${o.type.version}/${o.type.resource}` });
  let rv: string | undefined;
  let lists = 0;
  // Half to full of the delay: many watches failing together (the API server restarted) spread out.
  const backoff = new Backoff({ baseMs: o.backoffMs, capMs: o.maxBackoffMs, jitter: [0.5, 1] });
  let listedAt = 0;
  // A takeover waits (minutes at most) for its branch's checkpoints; a stop meanwhile must not wait
  // with it: a writer that cannot open (its Secret's watch already stopped) would hold the stop,
  // and with it a destination's hand-over, forever.
  let from: string | undefined = lists === 0 && o.startFrom ? await unlessAborted(o.startFrom(), o.signal) : undefined;
  // A resync (periodic, or asked for by a new rule) lists AT the last resourceVersion handed on, then
  // watches from it: what changed since comes as events, each with its author. Listed now, two
  // updates of one object made while the list ran would be folded into one diff without authors.
  const relistFromHandled = (): void => {
    if (rv !== undefined) from = rv;
    rv = undefined;
  };
  while (!o.signal.aborted) {
    // One stream at a time, cut at the next resync so the relist runs in this same loop: nothing
    // from the stream is handled while the list is, so a reconcile never overtakes newer events.
    const stream = new AbortController();
    const onAbort = (): void => stream.abort();
    o.signal.addEventListener('abort', onAbort, { once: true });
    let resyncTimer: NodeJS.Timeout | undefined;
    try {
      if (o.control?.requested) {
        o.control.requested = false;
        relistFromHandled();
      }
      if (rv === undefined) {
        let items: L[] = [];
        let listRv = '';
        const fetchPage = (cont: string | undefined): Promise<ListResponse> => {
          const q = new URLSearchParams({ limit: String(o.pageSize ?? 500) });
          if (o.fieldSelector) q.set('fieldSelector', o.fieldSelector);
          if (from && !cont) {
            q.set('resourceVersion', from);
            q.set('resourceVersionMatch', 'Exact');
          }
          if (cont) q.set('continue', cont);
          const p = o.api.getJson<ListResponse>(`${base}?${q}`, { signal: o.signal, lane: 'list' });
          p.catch(() => undefined); // awaited below; a failure while the page before is prepared is not unhandled
          return p;
        };
        // The next page is asked for before this one is prepared: the apiserver serves it while we
        // parse and sanitize (two pages in memory at most).
        let next: Promise<ListResponse> | undefined = fetchPage(undefined);
        while (next) {
          const page: ListResponse = await next;
          const cont = page.metadata.continue || undefined;
          next = cont ? fetchPage(cont) : undefined;
          const kind = page.kind?.replace(/List$/, '');
          for (const item of page.items) {
            // List items carry no apiVersion/kind; fill them in so sanitize and YAML see whole objects.
            item.apiVersion ??= page.apiVersion;
            item.kind ??= kind;
            items.push(prepareListed(item));
          }
          listRv = page.metadata.resourceVersion;
          page.items = []; // the frame keeps `page` while it waits for the next one
        }
        if (from) log[lists === 0 ? 'info' : 'debug']({ resourceVersion: from }, lists === 0 ? 'listed at the checkpoint; replaying changes since' : 'relisted at the last resourceVersion handed on');
        from = undefined;
        await o.handler.onList(items, listRv, lists > 0);
        if (o.control) o.control.handled = listRv;
        const listed = items.length;
        items = []; // this frame waits on the watch for hours: let the raw list go now
        lists++;
        listedAt = Date.now();
        rv = listRv;
        // The first list at info; a relist is routine (the periodic resync) or its cause was logged
        // (410 Gone, a rule change): steady state stays quiet at info.
        log[lists > 1 ? 'debug' : 'info']({ items: listed, resourceVersion: rv, relist: lists > 1 }, 'listed');
        o.onSynced?.();
      }
      if (o.resyncIntervalMs) {
        resyncTimer = setTimeout(() => stream.abort(), Math.max(0, listedAt + o.resyncIntervalMs - Date.now()));
      }
      const q = new URLSearchParams({ watch: '1', allowWatchBookmarks: 'true', resourceVersion: rv, timeoutSeconds: String(o.watchTimeoutSeconds ?? 300) });
      if (o.fieldSelector) q.set('fieldSelector', o.fieldSelector);
      if (o.control) {
        o.control.cut = () => stream.abort();
        if (o.control.requested) stream.abort();
      }
      for await (const line of o.api.streamLines(`${base}?${q}`, stream.signal)) {
        const ev = JSON.parse(line) as { type: string; object: KubeObject & { code?: number; reason?: string; message?: string } };
        if (ev.type === 'ERROR') {
          if (ev.object.code === 410) {
            log.info({ resourceVersion: rv }, 'watch expired (410 Gone); relisting');
            rv = undefined;
            break;
          }
          throw new KubeApiError(ev.object.code ?? 500, ev.object.reason ?? '', `watch error: ${ev.object.message ?? line.slice(0, 200)}`);
        }
        const evRv = ev.object.metadata?.resourceVersion;
        if (ev.type === 'BOOKMARK') {
          if (evRv) rv = evRv;
          if (evRv && o.control) o.control.handled = evRv;
          continue;
        }
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') {
          await o.handler.onEvent({ type: ev.type, object: ev.object });
          if (evRv) rv = evRv;
          if (evRv && o.control) o.control.handled = evRv;
          backoff.reset();
        }
      }
      if (resyncDue(o, listedAt)) relistFromHandled();
    } catch (err) {
      if (o.signal.aborted) break;
      if (stream.signal.aborted) {
        relistFromHandled(); // a periodic or requested resync cut the stream
        continue;
      }
      if (err instanceof KubescribeError && err.code === 'KUBESCRIBE_ERR_KUBE_WATCH_SILENT') {
        // Half-open: reopen at once from the last resourceVersion (nothing is missed); a server
        // that stays silent costs one idle bound per try, which paces the retries.
        o.onError?.(err);
        log.warn({ err: err.message, resourceVersion: rv }, 'watch went silent; reopening');
        continue;
      }
      if (err instanceof KubeApiError && err.status === 410) {
        rv = undefined;
        if (from) {
          log.info({ resourceVersion: from }, lists === 0 ? 'the checkpoint is compacted away; listing now (a reconcile records the difference)' : 'the last resourceVersion handed on is compacted away; relisting now');
          from = undefined;
          continue;
        }
      }
      o.onError?.(err);
      // A 429's Retry-After is honoured (the server says when it can take us again).
      const wait = Math.max(backoff.next(), err instanceof KubeApiError ? (err.retryAfterMs ?? 0) : 0);
      log.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: wait }, 'list/watch failed; retrying');
      await sleep(wait, o.signal);
    } finally {
      if (o.control) o.control.cut = undefined;
      clearTimeout(resyncTimer);
      o.signal.removeEventListener('abort', onAbort);
    }
  }
}

function resyncDue(o: { resyncIntervalMs?: number }, listedAt: number): boolean {
  return !!o.resyncIntervalMs && Date.now() - listedAt >= o.resyncIntervalMs;
}

/** The promise's value, or undefined once it fails or as soon as the signal aborts. */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (v: T | undefined): void => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    };
    p.then(settle, () => settle(undefined));
  });
}
