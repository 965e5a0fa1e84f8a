// The push itself, spoken directly in Git's smart protocol (receive-pack, over HTTP or SSH: transport.ts): the writer knows
// exactly which objects its unpushed commits introduced, so it sends one pack of those and a
// compare-and-swap of the branch (old → new). isomorphic-git's push would instead rediscover the
// objects by walking whole trees and read each back through the filesystem (~6 s for 1,000
// commits of a 10,000-file repository, against well under one here).
import { KubescribeError } from '../errors.ts';
import { redactUrl } from './git-error.ts';
import type { OpenSession } from './transport.ts';

export const ZERO_OID = '0000000000000000000000000000000000000000';

export type SendPackOutcome =
  | { status: 'ok' }
  /** The remote branch is not at `old`: fetch, replay, try again. */
  | { status: 'behind'; remoteOid: string }
  /** The pack was thin and the remote advertises `no-thin`: nothing sent; pack it whole. */
  | { status: 'thin-refused' };

function pkt(line: string): Buffer {
  const body = Buffer.from(line, 'utf8');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'latin1'), body]);
}

/** Splits pkt-lines; a flush packet is returned as null. */
function* pktLines(buf: Buffer): Generator<Buffer | null> {
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = parseInt(buf.toString('latin1', at, at + 4), 16);
    if (Number.isNaN(len)) throw new Error('malformed pkt-line');
    if (len < 4) {
      yield null;
      at += 4;
      continue;
    }
    yield buf.subarray(at + 4, at + len);
    at += len;
  }
}

/**
 * An `ERR` line from the server (access rules of a hosting platform, a repository that is gone):
 * a refusal that reads like one, never "branch absent".
 */
export function remoteErr(text: string): KubescribeError {
  const denied = /denied|forbidden|permission|not authori[sz]ed|unauthori[sz]ed|authentication/i.test(text);
  return new KubescribeError(denied ? 'KUBESCRIBE_ERR_GIT_AUTH' : 'KUBESCRIBE_ERR_GIT_REMOTE_ERROR', `the Git remote answered: ${text.trim()}`);
}

/** Reads the branch's current oid and the server's capabilities from the receive-pack advertisement. */
function parseAdvertisement(body: Buffer, ref: string): { oid: string; caps: Set<string> } {
  let oid = ZERO_OID;
  let caps = new Set<string>();
  let first = true;
  for (const line of pktLines(body)) {
    if (line === null) continue;
    const text = line.toString('utf8').replace(/\n$/, '');
    if (text.startsWith('#')) continue;
    if (text.startsWith('ERR ')) throw remoteErr(text.slice(4));
    const [refPart, capPart] = text.split('\0');
    if (first && capPart !== undefined) caps = new Set(capPart.trim().split(' '));
    first = false;
    const [lineOid, name] = (refPart ?? '').split(' ');
    if (name === ref && lineOid) oid = lineOid;
  }
  return { oid, caps };
}

/**
 * The report-status lines, from inside side-band channel 1 or bare, and what the remote printed on
 * channel 2 (hooks' messages: why a push was refused), kept for the error message.
 */
function parseReport(body: Buffer, sideBand: boolean): { unpack: string; refs: Map<string, string>; messages: string } {
  let report = body;
  const printed: string[] = [];
  if (sideBand) {
    const data: Buffer[] = [];
    for (const line of pktLines(body)) {
      if (line === null || line.length === 0) continue;
      if (line[0] === 1) data.push(line.subarray(1));
      else if (line[0] === 2) printed.push(line.subarray(1).toString('utf8'));
      else if (line[0] === 3) throw remoteErr(line.subarray(1).toString('utf8'));
    }
    report = Buffer.concat(data);
  }
  let unpack = '';
  const refs = new Map<string, string>();
  for (const line of pktLines(report)) {
    if (line === null) continue;
    const text = line.toString('utf8').replace(/\n$/, '');
    if (text.startsWith('ERR ')) throw remoteErr(text.slice(4));
    if (text.startsWith('unpack ')) unpack = text.slice('unpack '.length);
    else if (text.startsWith('ok ')) refs.set(text.slice(3), 'ok');
    else if (text.startsWith('ng ')) {
      const rest = text.slice(3);
      const sp = rest.indexOf(' ');
      refs.set(sp < 0 ? rest : rest.slice(0, sp), sp < 0 ? 'rejected' : rest.slice(sp + 1));
    }
  }
  // Progress lines end in \r; keep the last words of each line, at most a few hundred characters.
  const messages = printed.join('').split(/[\r\n]+/).map((l) => l.trim()).filter((l) => l && !/^(Resolving|Counting|Compressing|Writing|Total|Unpacking|Receiving)/.test(l)).join('; ').slice(-500);
  return { unpack, refs, messages };
}

/**
 * The remote refused the ref update because it moved meanwhile (or, with modern git, "failed to
 * update ref" / "cannot lock ref … expected …" after losing a race): fetch, replay, try again.
 */
const LOST_RACE = /fetch first|non-fast-forward|stale info|failed to lock|cannot lock|failed to update ref|incorrect old value|but expected/i;

export interface SendPackInput {
  /** For messages only (credentials stripped). */
  url: string;
  transport: OpenSession;
  ref: string;
  /** What we believe the remote branch is at (ZERO_OID: absent). */
  old: string;
  new: string;
  /** The pack in pieces (build-pack's packPieces), copied once, behind the command, into the request's body. */
  pack: readonly Uint8Array[];
  /** The pack has deltas of objects only the remote holds (a thin pack). */
  thin?: boolean;
  /** Aborted when the writer is fenced (leadership lost): nothing is sent after that. */
  signal?: AbortSignal;
}

/** Updates ref from old to new on the remote, sending pack. Transport errors are thrown as they come. */
export async function sendPack(p: SendPackInput): Promise<SendPackOutcome> {
  p.signal?.throwIfAborted();
  const session = await p.transport('git-receive-pack', p.signal);
  try {
    const { oid: remoteOid, caps } = parseAdvertisement(session.advertisement, p.ref);
    if (remoteOid === p.new) return { status: 'ok' }; // an earlier push landed already
    if (remoteOid !== p.old) return { status: 'behind', remoteOid };

    if (p.thin && caps.has('no-thin')) return { status: 'thin-refused' };
    const sideBand = caps.has('side-band-64k');
    const wanted = ['report-status', ...(sideBand ? ['side-band-64k'] : []), 'agent=kubescribe'];
    const head = Buffer.concat([pkt(`${p.old} ${p.new} ${p.ref}\0${wanted.join(' ')}\n`), Buffer.from('0000')]);
    const body = Buffer.concat([head, ...p.pack]);
    p.signal?.throwIfAborted();
    const res = await session.exchange(body);
    const { unpack, refs, messages } = parseReport(res, sideBand);
    const said = messages ? ` (remote: ${messages})` : '';
    if (unpack !== 'ok') {
      throw new KubescribeError('KUBESCRIBE_ERR_GIT_PUSH_REJECTED', `Git remote ${redactUrl(p.url)} could not unpack our push: ${unpack || 'no report'}${said}`);
    }
    const status = refs.get(p.ref);
    if (status === 'ok') return { status: 'ok' };
    if (status && LOST_RACE.test(status)) return { status: 'behind', remoteOid };
    throw new KubescribeError('KUBESCRIBE_ERR_GIT_PUSH_REJECTED', `Git remote ${redactUrl(p.url)} rejected ${p.ref}: ${status ?? 'no status'}${said}`);
  } finally {
    session.close();
  }
}
