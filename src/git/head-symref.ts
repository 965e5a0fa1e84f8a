// A remote whose HEAD points to a branch that does not exist (a fresh repository whose default
// branch was never pushed, while rules write other branches) advertises no HEAD. isomorphic-git's
// fetch then fails with NotFoundError "Could not find HEAD" *after* moving the tracking ref and
// *before* saving the pack — read as "branch absent", a writer that takes such a branch over would
// start it afresh and never push. This wraps the HTTP client of one fetch: an upload-pack
// advertisement without HEAD gets the capability `symref=HEAD:refs/heads/<branch>`, which is all
// isomorphic-git reads HEAD for (the default branch of a clone).
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';

const pkt = (payload: Buffer): Buffer => Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0')), payload]);

/** The advertisement with HEAD named, or unchanged when it has HEAD or is not one. */
export function withHeadSymref(body: Buffer, branch: string): Buffer {
  const lines: Buffer[] = [];
  let i = 0;
  while (i + 4 <= body.length) {
    const len = parseInt(body.subarray(i, i + 4).toString(), 16);
    if (Number.isNaN(len)) return body;
    lines.push(body.subarray(i, i + Math.max(len, 4)));
    i += Math.max(len, 4);
  }
  const refIndex = lines.findIndex((l) => l.length > 4 && /^[0-9a-f]{40} /.test(l.subarray(4, 45).toString()));
  if (refIndex < 0) return body;
  const first = lines[refIndex]!.subarray(4);
  const nul = first.indexOf(0);
  if (nul < 0 || first.subarray(41, nul).toString().trim() === 'HEAD' || first.includes('symref=HEAD:')) return body;
  const caps = first.subarray(nul + 1).toString().replace(/\n$/, '');
  lines[refIndex] = pkt(Buffer.concat([first.subarray(0, nul + 1), Buffer.from(`${caps} symref=HEAD:refs/heads/${branch}\n`)]));
  return Buffer.concat(lines);
}

export function headSymrefClient(client: HttpClient, branch: string): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const res = await client.request(req);
      if ((req.method ?? 'GET') !== 'GET' || !req.url.includes('/info/refs?service=git-upload-pack') || res.statusCode !== 200 || !res.body) return res;
      const chunks: Uint8Array[] = [];
      for await (const c of res.body) chunks.push(c);
      const body = withHeadSymref(Buffer.concat(chunks), branch);
      return { ...res, body: (async function* () { yield body; })() };
    },
  };
}
