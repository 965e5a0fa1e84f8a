// The proxy kubectl (Go's net/http ProxyFromEnvironment, golang.org/x/net/http/httpproxy) would
// use for an https API server: HTTPS_PROXY (https_proxy), unless NO_PROXY (no_proxy) matches or
// the host is localhost or a loopback address. Go's matching differs from the npm packages' (a
// plain "example.com" also matches its subdomains, CIDR entries match addresses), and running "as
// kubectl would" is the point, so the rules are written out here.
import { BlockList, isIP } from 'node:net';

/** The proxy URL for an https URL, or undefined for a direct connection. */
export function proxyFromEnv(target: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env.HTTPS_PROXY || env.https_proxy;
  if (!raw) return undefined;
  const u = new URL(target);
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  if (host === 'localhost' || isLoopback(host)) return undefined;
  if (noProxyMatches(env.NO_PROXY || env.no_proxy || '', host, port)) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
}

function isLoopback(host: string): boolean {
  const v = isIP(host);
  if (v === 4) return host.startsWith('127.');
  if (v !== 6) return false;
  const loop = new BlockList();
  loop.addAddress('::1', 'ipv6');
  return loop.check(host, 'ipv6');
}

function noProxyMatches(noProxy: string, host: string, port: string): boolean {
  const ipv = isIP(host);
  for (let entry of noProxy.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    if (entry === '*') return true;
    if (entry.includes('/')) {
      // CIDR: matches addresses only.
      const [net = '', bits = ''] = entry.split('/');
      const netV = isIP(net);
      if (ipv && netV === ipv) {
        const list = new BlockList();
        list.addSubnet(net, Number(bits), netV === 4 ? 'ipv4' : 'ipv6');
        if (list.check(host, ipv === 4 ? 'ipv4' : 'ipv6')) return true;
      }
      continue;
    }
    let entryPort = '';
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !isIP(entry)) {
      entry = m[1] ?? '';
      entryPort = m[2] ?? '';
    }
    entry = entry.replace(/^\[|\]$/g, '');
    if (isIP(entry)) {
      if (entry === host && (!entryPort || entryPort === port)) return true;
      continue;
    }
    if (entry.startsWith('*.')) entry = entry.slice(1);
    const matchHost = !entry.startsWith('.');
    const suffix = matchHost ? `.${entry}` : entry;
    if ((host.endsWith(suffix) || (matchHost && host === entry)) && (!entryPort || entryPort === port)) return true;
  }
  return false;
}
