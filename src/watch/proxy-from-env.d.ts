// proxy-from-env ships no types: the one function kube-config.ts uses.
declare module 'proxy-from-env' {
  /** The proxy URL for `url` from HTTP(S)_PROXY / ALL_PROXY and NO_PROXY; '' when none applies. */
  export function getProxyForUrl(url: string | URL): string;
}
