// The node of the local cluster, where the machine allows one (root, cgroups, Debian's containerd,
// runc, CNI plugins, iptables, conntrack): containerd (CRI), the kubelet and kube-proxy (kscluster),
// pods on a CNI bridge of their own (ksbr0, 10.244.77.0/24) that reach the apiserver and the Git
// server through small TCP proxies on the bridge's gateway address, and talk only to this machine
// (FORWARD drops whatever leaves the bridge). Images come from docker-archive tarballs
// (e2e/node/images.ts), there is no registry.
//
// One node per machine (cgroups, iptables, the bridge are machine-wide): a stack takes it with an
// owner file in /run/kubescribe-node (created exclusively; a dead owner's leftovers are cleaned and
// the node taken over). A stack that cannot have it says node.ready: false, unless the node is
// required (KUBESCRIBE_NODE=1, or CI=true as root), then it waits for the owner to let it go.
// `downNode` removes everything the node made: pods (through the API, before the kubelet stops),
// processes, mounts, network namespaces, the bridge, iptables rules, cgroups, and it restores the
// sysctls the kubelet and kube-proxy set. containerd's image store is kept between runs.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { importImage, kubectlImage, pauseImage, PAUSE_IMAGE } from '../node/images.ts';
import { apiGet, kubectl, type ControlPlaneInfo } from './control-plane.ts';
import { NODE } from './node-network.ts';
import { freePort, isRunning, sleep, startDetached, stopProcess, waitFor, type ProcessRecord } from './processes.ts';

const exec = promisify(execFile);


const MACHINE_DIR = '/var/lib/kubescribe-node'; // containerd's root (images kept), the kubelet's root, pod logs
const RUN_DIR = '/run/kubescribe-node'; // containerd's state and socket, CNI config and IPAM, the owner file
const OWNER_FILE = join(RUN_DIR, 'owner.json');
const SOCKET = join(RUN_DIR, 'containerd.sock');
const CGROUP_ROOT = NODE.cgroupRoot;
/** Set by the kubelet (and ip_forward by us, for pod → Service → pod): restored by downNode. */
const SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops', 'net/ipv4/ip_forward'];
const REQUIRED = ['/usr/bin/cc', '/usr/bin/containerd', '/usr/bin/ctr', '/usr/sbin/runc', '/usr/lib/cni/bridge', '/usr/lib/cni/host-local', '/usr/lib/cni/loopback', '/usr/sbin/iptables', '/usr/sbin/conntrack'];

interface NodeProcesses { containerd?: ProcessRecord; kubelet?: ProcessRecord; proxy?: ProcessRecord; apiProxy?: ProcessRecord; gitProxy?: ProcessRecord }

/** The owner file: who has the node, and what to restore when it goes. */
interface Owner {
  stackDir: string;
  marker: string;
  /** The process that is starting the node (before any node process runs). */
  starter: { pid: number; start: string };
  sysctls: Record<string, string>;
  netnsBefore: string[];
  ports: { kubelet: number; kubeletHealthz: number; proxyHealthz: number; proxyMetrics: number };
  processes: NodeProcesses;
}

export interface NodeStatus { ready: boolean; reason?: string; images: string[]; image?: string }

export interface NodeOptions {
  stackDir: string;
  marker: string;
  cp: ControlPlaneInfo;
  apiPort: number;
  gitPort: number;
  /** 'auto': when the machine allows and no other stack has it; 'require': fail or wait; 'off'. */
  mode: 'auto' | 'require' | 'off';
  /** docker-archive tarballs to load besides pause and kubectl, with their tags (the first: kubescribe's). */
  images?: () => Promise<Array<{ tag: string; tarball: string }>>;
  log: (msg: string) => void;
}

/** KUBESCRIBE_NODE=0|1, else required on CI as root, else auto. */
export function nodeMode(env: NodeJS.ProcessEnv = process.env): NodeOptions['mode'] {
  if (env.KUBESCRIBE_NODE === '0') return 'off';
  if (env.KUBESCRIBE_NODE === '1') return 'require';
  return env.CI === 'true' && process.getuid?.() === 0 ? 'require' : 'auto';
}

/** Why this machine cannot run the node, or undefined when it can. */
export function machineBlocker(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/sys/fs/cgroup')) return 'no cgroup filesystem';
  const missing = REQUIRED.filter((f) => !existsSync(f));
  return missing.length > 0 ? `missing ${missing.join(', ')} (scripts/install-deps.sh installs them as root)` : undefined;
}

function readOwner(): Owner | undefined {
  try { return JSON.parse(readFileSync(OWNER_FILE, 'utf8')) as Owner; } catch { return undefined; }
}

async function writeOwner(o: Owner): Promise<void> {
  await writeFile(`${OWNER_FILE}.tmp`, JSON.stringify(o, null, 2));
  await exec('mv', [`${OWNER_FILE}.tmp`, OWNER_FILE]);
}

function processStart(pid: number): string | undefined {
  try { return readFileSync(`/proc/${pid}/stat`, 'latin1').replace(/^.*\) /, '').split(' ')[19]; } catch { return undefined; }
}

function ownerAlive(o: Owner): boolean {
  if (Object.values(o.processes).some((p) => isRunning(p))) return true;
  return processStart(o.starter.pid) === o.starter.start;
}

/** Takes the node for this stack: 'ours', or 'busy' when another live stack has it. */
async function acquire(o: NodeOptions): Promise<{ owner: Owner } | 'busy'> {
  await mkdir(RUN_DIR, { recursive: true });
  for (;;) {
    const current = readOwner();
    if (current) {
      if (current.stackDir === o.stackDir && current.marker === o.marker) {
        current.starter = { pid: process.pid, start: processStart(process.pid) ?? '' };
        await writeOwner(current);
        return { owner: current };
      }
      if (ownerAlive(current)) return 'busy';
      o.log(`cleaning up the node left by ${current.stackDir}`);
      await cleanup(current, undefined, o.log);
      continue;
    }
    const owner: Owner = {
      stackDir: o.stackDir, marker: o.marker, starter: { pid: process.pid, start: processStart(process.pid) ?? '' },
      sysctls: Object.fromEntries(SYSCTLS.map((s) => [s, readFileSync(`/proc/sys/${s}`, 'utf8').trim()])),
      netnsBefore: existsSync('/run/netns') ? readdirSync('/run/netns') : [],
      ports: { kubelet: await freePort(), kubeletHealthz: await freePort(), proxyHealthz: await freePort(), proxyMetrics: await freePort() },
      processes: {},
    };
    try {
      await writeFile(OWNER_FILE, JSON.stringify(owner, null, 2), { flag: 'wx' });
      return { owner };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

async function run(cmd: string, args: string[]): Promise<string> {
  return (await exec(cmd, args, { maxBuffer: 16 << 20 })).stdout;
}

async function quiet(cmd: string, args: string[]): Promise<void> {
  await exec(cmd, args).catch(() => undefined);
}

function binDirOf(cp: ControlPlaneInfo): string { return cp.binDir; }

function containerdConfig(): string {
  return `version = 2
root = "${MACHINE_DIR}/containerd"
state = "${RUN_DIR}/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${SOCKET}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${MACHINE_DIR}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # This machine lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc
  # ("failed to update /proc/self/oom_score_adj: Permission denied").
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${RUN_DIR}/cni/net.d"
`;
}

const CNI_CONFIG = {
  cniVersion: '0.4.0', name: 'kubescribe',
  plugins: [{
    type: 'bridge', bridge: NODE.bridge, isGateway: true, ipMasq: false, hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: NODE.cidr, gateway: NODE.gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: `${RUN_DIR}/cni/ipam` },
  }],
};

async function setupNetwork(): Promise<void> {
  const links = await run('ip', ['-o', 'link', 'show']);
  if (!links.includes(` ${NODE.bridge}:`)) await run('ip', ['link', 'add', NODE.bridge, 'type', 'bridge']);
  const addrs = await run('ip', ['-o', 'addr', 'show', 'dev', NODE.bridge]);
  if (!addrs.includes(`${NODE.gateway}/24`)) await run('ip', ['addr', 'add', `${NODE.gateway}/24`, 'dev', NODE.bridge]);
  await run('ip', ['link', 'set', NODE.bridge, 'up']);
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
  // Pods talk only to this machine: nothing is forwarded out of the bridge but back into it, and
  // nothing from elsewhere into it.
  const chains = await run('iptables', ['-S']);
  if (!chains.includes('-N KUBESCRIBE-NODE')) {
    await run('iptables', ['-N', 'KUBESCRIBE-NODE']);
    await run('iptables', ['-A', 'KUBESCRIBE-NODE', '-i', NODE.bridge, '-o', NODE.bridge, '-j', 'ACCEPT']);
    await run('iptables', ['-A', 'KUBESCRIBE-NODE', '-i', NODE.bridge, '-j', 'DROP']);
    await run('iptables', ['-A', 'KUBESCRIBE-NODE', '-o', NODE.bridge, '-j', 'DROP']);
  }
  if (!chains.includes('-A FORWARD -j KUBESCRIBE-NODE')) await run('iptables', ['-I', 'FORWARD', '1', '-j', 'KUBESCRIBE-NODE']);
}

/** Starts the node (or what of it is not running) and waits until it is Ready. */
export async function upNode(o: NodeOptions): Promise<NodeStatus> {
  if (o.mode === 'off') return { ready: false, reason: 'KUBESCRIBE_NODE=0', images: [] };
  const blocker = machineBlocker();
  if (blocker) {
    if (o.mode === 'require') throw new Error(`a node is required (KUBESCRIBE_NODE=1 or CI as root) but this machine cannot run it: ${blocker}`);
    return { ready: false, reason: blocker, images: [] };
  }
  let got = await acquire(o);
  if (got === 'busy' && o.mode === 'require') {
    o.log(`waiting for the node: another stack has it (${readOwner()?.stackDir})`);
    await waitFor('the node to be released by the other stack', async () => (got = await acquire(o)) !== 'busy', 30 * 60_000, 2000);
  }
  if (got === 'busy') return { ready: false, reason: `another stack has the node (${readOwner()?.stackDir})`, images: [] };
  const owner = got.owner;
  const started = Date.now();
  try {
    return await startNode(o, owner, started);
  } catch (err) {
    await writeOwner(owner).catch(() => undefined);
    throw err;
  }
}

async function startNode(o: NodeOptions, owner: Owner, started: number): Promise<NodeStatus> {
  const dir = join(o.stackDir, 'node');
  await mkdir(dir, { recursive: true });
  await mkdir(join(RUN_DIR, 'cni', 'net.d'), { recursive: true });
  await mkdir(MACHINE_DIR, { recursive: true });
  await setupNetwork();
  makeCgroups();
  await writeFile(join(RUN_DIR, 'cni', 'net.d', '10-kubescribe.conflist'), JSON.stringify(CNI_CONFIG, null, 2));
  const p = owner.processes;
  const save = async (): Promise<void> => writeOwner(owner);

  if (!p.containerd || !isRunning(p.containerd)) {
    await writeFile(join(dir, 'containerd.toml'), containerdConfig());
    o.log('starting containerd');
    p.containerd = startDetached('/usr/bin/containerd', ['--config', join(dir, 'containerd.toml')], { log: join(dir, 'containerd.log'), marker: nodeMarker(o.marker) });
    await save();
  }
  const containerd = p.containerd;
  await waitFor(`containerd (log ${containerd.log})`, async () => {
    if (!isRunning(containerd)) throw new Error(`containerd exited; see ${containerd.log}`);
    await run('ctr', ['--address', SOCKET, 'version']);
    return true;
  }, 30_000, 100);

  const cache = process.env.KUBESCRIBE_CACHE ?? join(homedir(), '.cache', 'kubescribe');
  const extra = (await o.images?.()) ?? [];
  const images = [
    { tag: PAUSE_IMAGE, tarball: await pauseImage(cache) },
    { tag: 'kubescribe.local/kubectl:1', tarball: await kubectlImage(cache, join(binDirOf(o.cp), 'kscp')) },
    ...extra,
  ];
  await importImages(images);

  const kubeletConfig = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration',
    address: NODE.gateway, port: owner.ports.kubelet, readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1', healthzPort: owner.ports.kubeletHealthz,
    cgroupDriver: 'cgroupfs', cgroupRoot: `/${CGROUP_ROOT}`, failCgroupV1: false, failSwapOn: false,
    containerRuntimeEndpoint: `unix://${SOCKET}`,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: o.cp.caFile } },
    authorization: { mode: 'Webhook' },
    podLogsDir: join(MACHINE_DIR, 'pod-logs'),
    // Images here cannot be pulled again: never collect them, never evict for disk pressure.
    imageGCHighThresholdPercent: 100, imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi' },
    resolvConf: '/etc/resolv.conf', clusterDomain: 'cluster.local',
    serializeImagePulls: false, registerNode: true,
    nodeStatusUpdateFrequency: '4s', syncFrequency: '10s', fileCheckFrequency: '10s',
  };
  if (!p.kubelet || !isRunning(p.kubelet)) {
    await writeFile(join(dir, 'kubelet.yaml'), stringify(kubeletConfig));
    o.log(`starting the kubelet (node ${NODE.name} on ${NODE.gateway})`);
    p.kubelet = startDetached(join(binDirOf(o.cp), 'kscluster'), ['kubelet', `--config=${join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${o.cp.kubeconfigs.node ?? ''}`, `--root-dir=${join(MACHINE_DIR, 'kubelet')}`, `--cert-dir=${join(dir, 'kubelet-pki')}`,
      `--hostname-override=${NODE.name}`, `--node-ip=${NODE.gateway}`, '--v=1'], { log: join(dir, 'kubelet.log'), marker: nodeMarker(o.marker) });
    await save();
  }
  const proxyConfig = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: o.cp.kubeconfigs['kube-proxy'] ?? '' },
    mode: 'iptables', hostnameOverride: NODE.name, clusterCIDR: NODE.cidr, bindAddress: '127.0.0.1',
    healthzBindAddress: `127.0.0.1:${owner.ports.proxyHealthz}`, metricsBindAddress: `127.0.0.1:${owner.ports.proxyMetrics}`,
    // Leave the machine's conntrack sysctls alone; NodePorts only on the bridge, not on 127.0.0.1.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { localhostNodePorts: false },
    nodePortAddresses: [`${NODE.gateway}/32`],
  };
  const proxyConfigFile = join(dir, 'kube-proxy.yaml');
  await writeFile(proxyConfigFile, stringify(proxyConfig));
  if (!p.proxy || !isRunning(p.proxy)) {
    p.proxy = startDetached(join(binDirOf(o.cp), 'kscluster'), ['kube-proxy', `--config=${proxyConfigFile}`, '--v=1'], { log: join(dir, 'kube-proxy.log'), marker: nodeMarker(o.marker) });
    await save();
  }
  // The apiserver and the Git server listen on 127.0.0.1; pods reach them on the gateway address.
  const tcpProxy = join(dirname(new URL(import.meta.url).pathname), 'tcp-proxy.ts');
  for (const [key, port] of [['apiProxy', o.apiPort], ['gitProxy', o.gitPort]] as const) {
    if (!p[key] || !isRunning(p[key])) {
      p[key] = startDetached(process.execPath, ['--import', 'tsx', tcpProxy, '--host', NODE.gateway, '--port', String(port), '--backends', `127.0.0.1:${port}`],
        { log: join(dir, `${key}.log`), marker: nodeMarker(o.marker), cwd: join(dirname(tcpProxy), '..', '..') });
      await save();
    }
  }
  let exited: string | undefined;
  await waitFor(`node ${NODE.name} Ready (logs in ${dir})`, async () => {
    exited = Object.entries(p).filter(([, rec]) => !isRunning(rec)).map(([name, rec]) => `${name} exited; see ${rec?.log}`)[0];
    if (exited) return true;
    const res = await apiGet(o.cp, `/api/v1/nodes/${NODE.name}`);
    if (res.status !== 200) return false;
    const node = JSON.parse(res.body) as { spec?: { unschedulable?: boolean }; status?: { conditions?: Array<{ type: string; status: string }> } };
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  }, 120_000, 250);
  if (exited) throw new Error(`the node did not start: ${exited}`);
  await kubectl(o.cp, 'admin', ['uncordon', NODE.name]); // downNode cordons it
  o.log(`node ${NODE.name} Ready after ${Date.now() - started} ms`);
  return { ready: true, images: images.map((i) => i.tag), ...(extra[0] ? { image: extra[0].tag } : {}) };
}

/** Loads each tarball unless the same one was loaded before (stamps beside containerd's root). */
async function importImages(images: Array<{ tag: string; tarball: string }>): Promise<void> {
  const stampFile = join(MACHINE_DIR, 'imported.json');
  const stamps = existsSync(stampFile) ? (JSON.parse(await readFile(stampFile, 'utf8')) as Record<string, string>) : {};
  const present = await run('ctr', ['--address', SOCKET, '--namespace', 'k8s.io', 'images', 'ls', '-q']);
  for (const img of images) {
    // A name without a registry is docker.io/library/<name> in containerd.
    const names = [img.tag, `docker.io/library/${img.tag}`];
    if (stamps[img.tag] === img.tarball && present.split('\n').some((n) => names.includes(n))) continue;
    await importImage(SOCKET, img.tarball);
    stamps[img.tag] = img.tarball;
    await writeFile(stampFile, JSON.stringify(stamps, null, 2));
  }
}

/** Stops the node if this stack has it, and removes all it made. */
export async function downNode(stackDir: string, marker: string, cp: ControlPlaneInfo | undefined, log: (m: string) => void): Promise<void> {
  const owner = readOwner();
  if (!owner || owner.stackDir !== stackDir || owner.marker !== marker) return;
  await cleanup(owner, cp, log);
}

/** Everything the node made, undone; used by downNode and to take over a dead owner's node. */
async function cleanup(owner: Owner, cp: ControlPlaneInfo | undefined, log: (m: string) => void): Promise<void> {
  const p = owner.processes;
  if (cp && isRunning(p.kubelet)) {
    // Pods go through the API while the kubelet runs, so that it tears down their network and
    // volumes; cordoned first, so that controllers' replacements are not started meanwhile.
    log('deleting the pods of the node');
    await kubectl(cp, 'admin', ['cordon', NODE.name]).catch(() => undefined);
    await kubectl(cp, 'admin', ['delete', 'pods', '-A', '--field-selector', `spec.nodeName=${NODE.name}`, '--wait=false']).catch(() => undefined);
    await waitFor('the pods of the node to be gone', async () => (await kubectl(cp, 'admin', ['get', 'pods', '-A', '--field-selector', `spec.nodeName=${NODE.name}`, '-o', 'name'])).trim() === '', 60_000, 500)
      .catch(async () => kubectl(cp, 'admin', ['delete', 'pods', '-A', '--field-selector', `spec.nodeName=${NODE.name}`, '--force', '--grace-period=0']).catch(() => undefined));
  }
  for (const key of ['gitProxy', 'apiProxy', 'proxy', 'kubelet'] as const) await stopProcess(p[key], 15_000);
  const binDir = cp?.binDir;
  if (binDir) await quiet(join(binDir, 'kscluster'), ['kube-proxy', '--cleanup']);
  if (isRunning(p.containerd)) {
    // Whatever the kubelet did not stop (a failed teardown): killed, then removed.
    const tasks = await run('ctr', ['--address', SOCKET, '--namespace', 'k8s.io', 'tasks', 'ls', '-q']).catch(() => '');
    for (const id of tasks.split('\n').filter(Boolean)) {
      await quiet('ctr', ['--address', SOCKET, '--namespace', 'k8s.io', 'tasks', 'kill', '-s', 'SIGKILL', id]);
      await quiet('ctr', ['--address', SOCKET, '--namespace', 'k8s.io', 'tasks', 'rm', '-f', id]);
    }
  }
  await stopProcess(p.containerd, 15_000);
  // containerd's shims (and anything else started with this node's marker) that outlived it.
  for (const pid of markedProcesses(nodeMarker(owner.marker))) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  await sleep(200);
  unmountUnder([join(MACHINE_DIR, 'kubelet'), join(MACHINE_DIR, 'containerd'), RUN_DIR]);
  if (existsSync('/run/netns')) {
    for (const ns of readdirSync('/run/netns').filter((n) => !owner.netnsBefore.includes(n))) {
      await quiet('umount', [join('/run/netns', ns)]);
      await rm(join('/run/netns', ns), { force: true });
    }
  }
  // Network: the jump, our chain, leftover veths (they go with their namespaces), the bridge.
  await quiet('iptables', ['-D', 'FORWARD', '-j', 'KUBESCRIBE-NODE']);
  await quiet('iptables', ['-F', 'KUBESCRIBE-NODE']);
  await quiet('iptables', ['-X', 'KUBESCRIBE-NODE']);
  // What `kube-proxy --cleanup` leaves (KUBE-FIREWALL, in both families).
  for (const cmd of ['iptables', 'ip6tables']) await removeKubeChains(cmd);
  await quiet('ip', ['link', 'del', NODE.bridge]);
  await quiet('conntrack', ['-D', '-s', NODE.cidr]);
  await quiet('conntrack', ['-D', '-d', NODE.cidr]);
  removeCgroups();
  for (const [name, value] of Object.entries(owner.sysctls)) await writeFile(`/proc/sys/${name}`, value).catch(() => undefined);
  // The kubelet links container logs into /var/log/containers; ours point into our pod log dir.
  if (existsSync('/var/log/containers')) {
    for (const f of readdirSync('/var/log/containers')) {
      const link = join('/var/log/containers', f);
      const target = await exec('readlink', [link]).then((r) => r.stdout.trim()).catch(() => '');
      if (target.startsWith(join(MACHINE_DIR, 'pod-logs'))) await rm(link, { force: true });
    }
  }
  await rm(join(MACHINE_DIR, 'kubelet'), { recursive: true, force: true });
  await rm(join(MACHINE_DIR, 'pod-logs'), { recursive: true, force: true });
  // Last: the owner file goes with the folder, which lets the next stack have the node.
  await rm(RUN_DIR, { recursive: true, force: true });
  log('node stopped and cleaned up');
}

/** Every rule that jumps to a KUBE-* chain, then the chains themselves, in each table. */
async function removeKubeChains(cmd: string): Promise<void> {
  for (const table of ['filter', 'nat', 'mangle']) {
    const rules = (await run(cmd, ['-w', '-t', table, '-S']).catch(() => '')).split('\n');
    for (const rule of rules.filter((r) => r.startsWith('-A ') && !r.startsWith('-A KUBE-') && / -j KUBE-/.test(r))) {
      await quiet(cmd, ['-w', '-t', table, '-D', ...rule.slice(3).split(' ')]);
    }
    const chains = rules.filter((r) => r.startsWith('-N KUBE-')).map((r) => r.slice(3));
    for (const c of chains) await quiet(cmd, ['-w', '-t', table, '-F', c]);
    for (const c of chains) await quiet(cmd, ['-w', '-t', table, '-X', c]);
  }
}

/**
 * The node's processes carry a marker of their own: the sweep for leftover shims must not also
 * kill the stack's other processes (a shell wrapping sshd, killed alone, orphans sshd).
 */
function nodeMarker(stackMarker: string): string {
  return `${stackMarker}-node`;
}

function markedProcesses(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`KUBESCRIBE_STACK_MARKER=${marker}`)) pids.push(Number(entry));
    } catch { /* gone or not readable */ }
  }
  return pids;
}

/** Mount points under the given folders, deepest first, unmounted (lazily if busy). */
function unmountUnder(roots: string[]): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((m) => roots.some((r) => m === r || m.startsWith(`${r}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    if (spawnSync('umount', [m]).status !== 0) spawnSync('umount', ['-l', m]);
  }
}

/** The kubelet's cgroup root, in every hierarchy (cgroup v1 here: cpuset needs its cpus and mems). */
function makeCgroups(): void {
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', hierarchy, CGROUP_ROOT);
    if (!existsSync(join('/sys/fs/cgroup', hierarchy, 'cgroup.procs'))) continue;
    mkdirSync(dir, { recursive: true });
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      const parent = join('/sys/fs/cgroup', hierarchy, f);
      if (existsSync(parent) && readFileSync(join(dir, f), 'utf8').trim() === '') writeFileSync(join(dir, f), readFileSync(parent, 'utf8'));
    }
  }
}

/** The kubelet's cgroups (under /<CGROUP_ROOT> in every hierarchy), removed deepest first. */
function removeCgroups(): void {
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    removeTree(join('/sys/fs/cgroup', hierarchy, CGROUP_ROOT));
  }
}

function removeTree(dir: string): void {
  let entries: string[];
  try { entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name); } catch { return; }
  for (const e of entries) removeTree(join(dir, e));
  try { rmdirSync(dir); } catch { /* busy or gone */ }
}
