/**
 * Test harness: a real Kubernetes control plane as local processes on loopback, no container
 * engine. etcd + kube-apiserver (+ kube-controller-manager, kube-scheduler, and kwok driving a few
 * fake Nodes so Pods get scheduled and reported Running). The binaries come from
 * `scripts/k8s/build-control-plane.sh` (cached under $HOME/.cache/sluice/k8s-<version>/bin) or
 * from KUBEBUILDER_ASSETS, by the same rule that script uses.
 *
 * Invariants:
 *   - Every listener binds 127.0.0.1 on a port the kernel picked free just before.
 *   - TLS is real: a throwaway CA (openssl) signs the apiserver's serving cert (SANs 127.0.0.1,
 *     localhost) and an admin client cert (CN=admin, O=system:masters); nothing skips verification
 *     when talking to the apiserver.
 *   - Each process runs in its own process group with its output in `<workDir>/logs/<name>.log`;
 *     `stop()` stops them in reverse start order (SIGTERM, then SIGKILL after a grace period), kills
 *     whole groups, and removes the temp folder. A process that exits early fails `start` with its
 *     log, and everything started so far is stopped.
 *   - If the Node process exits without `stop()`, an exit hook SIGKILLs the groups so no
 *     apiserver/etcd outlives the test run.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer, type Server } from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CoreV1Api, KubeConfig, type V1Node } from "@kubernetes/client-node";

const execFileAsync = promisify(execFile);

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const VERSIONS_FILE = join(repoRoot, "scripts", "k8s", "versions.env");

/** Whole start-up budget. A cold apiserver on a busy 2-core machine needs ~10-30 s to be ready. */
const START_TIMEOUT_MS = 180_000;
/** SIGTERM → SIGKILL grace per process: apiserver and etcd shut down in well under this. */
const STOP_GRACE_MS = 10_000;
/** Poll interval for readiness probes: short enough not to add latency, long enough to stay idle. */
const POLL_INTERVAL_MS = 250;
/** Per-request timeout of a readiness probe; a hung probe must not eat the whole budget. */
const PROBE_TIMEOUT_MS = 5_000;
/** How much of each process log a failure message carries: enough for the fatal lines. */
const LOG_TAIL_BYTES = 6_000;
/** Certificates only need to outlive one test run. */
const CERT_VALIDITY_DAYS = 7;
/** Default number of fake Nodes: enough for anti-affinity across a 3-broker cluster. */
const DEFAULT_NODE_COUNT = 3;
/** kwok handles thousands, but every Node heartbeats a Lease; tests need a handful. */
const NODE_COUNT_MAX = 50;

/** kwok manages exactly the Nodes carrying this annotation (see `kwokArgs`). */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
export const KWOK_NODE_ANNOTATION_VALUE = "fake";
/** Each fake Node gets this zone label (zone-0, zone-1, ...) so rack-awareness can be tested. */
export const ZONE_LABEL = "topology.kubernetes.io/zone";

/** Something about the control plane did not work; `logs` holds the tail of every process log. */
export class ControlPlaneError extends Error {
  constructor(
    message: string,
    readonly logs: string,
    options?: { cause?: unknown },
  ) {
    super(logs.length > 0 ? `${message}\n\n--- control plane logs ---\n${logs}` : message, options);
    this.name = "ControlPlaneError";
  }
}

export type ComponentName = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kwok";

export interface Versions {
  readonly K8S_VERSION: string;
  readonly ETCD_VERSION: string;
  readonly [key: string]: string;
}

/** Reads scripts/k8s/versions.env (KEY=value lines; `#` comments). */
export function readVersions(file = VERSIONS_FILE): Versions {
  const out: Record<string, string> = {};
  for (const raw of readFileSync(file, "utf8").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`${file}: not KEY=value: ${raw}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const k8s = out["K8S_VERSION"];
  const etcd = out["ETCD_VERSION"];
  if (k8s === undefined || etcd === undefined) throw new Error(`${file}: K8S_VERSION and ETCD_VERSION are required`);
  return { ...out, K8S_VERSION: k8s, ETCD_VERSION: etcd };
}

export interface Binary {
  readonly path: string;
  /** True when it came from KUBEBUILDER_ASSETS rather than our build cache. */
  readonly fromAssets: boolean;
}

export type Binaries = Readonly<Record<ComponentName | "helm" | "kubeconform", Binary>>;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Folder the build script fills (SLUICE_K8S_CACHE_DIR overrides, as in the script). */
export function cacheDir(versions: Versions = readVersions()): string {
  return process.env["SLUICE_K8S_CACHE_DIR"] ?? join(homedir(), ".cache", "sluice", `k8s-${versions.K8S_VERSION}`);
}

/** Folder the build script installs binaries into. */
export function cacheBinDir(versions: Versions = readVersions()): string {
  return join(cacheDir(versions), "bin");
}

/** kwok's default Stage objects (Node init + Lease heartbeat, Pod ready/complete/delete). */
export function kwokStagesPath(versions: Versions = readVersions()): string {
  return join(cacheDir(versions), "kwok", "stages.yaml");
}

/**
 * Finds every binary: KUBEBUILDER_ASSETS wins for the four control-plane binaries when it holds
 * kube-apiserver and etcd (setup-envtest's layout); everything else comes from the build cache.
 * Throws naming the missing binaries and the command that builds them.
 */
export function resolveBinaries(versions: Versions = readVersions()): Binaries {
  const binDir = cacheBinDir(versions);
  const assets = process.env["KUBEBUILDER_ASSETS"];
  const assetsUsable =
    assets !== undefined &&
    assets !== "" &&
    isExecutable(join(assets, "kube-apiserver")) &&
    isExecutable(join(assets, "etcd"));
  const fromAssetsAllowed = new Set(["kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler"]);
  const names = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "helm",
    "kubeconform",
  ] as const;
  const found: Partial<Record<(typeof names)[number], Binary>> = {};
  const missing: string[] = [];
  for (const name of names) {
    if (assetsUsable && fromAssetsAllowed.has(name) && isExecutable(join(assets, name))) {
      found[name] = { path: join(assets, name), fromAssets: true };
    } else if (isExecutable(join(binDir, name))) {
      found[name] = { path: join(binDir, name), fromAssets: false };
    } else {
      missing.push(name);
    }
  }
  if (!existsSync(kwokStagesPath(versions))) missing.push(kwokStagesPath(versions));
  if (missing.length > 0) {
    throw new ControlPlaneError(
      `Kubernetes test binaries missing (${missing.join(", ")}) in ${binDir}` +
        (assetsUsable ? ` and KUBEBUILDER_ASSETS=${assets}` : "") +
        `. Build them once with: bash scripts/k8s/build-control-plane.sh`,
      "",
    );
  }
  return found as Binaries;
}

// ---------------------------------------------------------------------------------------------
// Processes

interface ManagedProcess {
  readonly name: ComponentName;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** Set once the process has exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
}

/** Process groups still alive, SIGKILLed by the exit hook if the test runner dies without stop(). */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const pid of liveGroups) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

function startProcess(name: ComponentName, binary: string, args: readonly string[], logDir: string): ManagedProcess {
  const logPath = join(logDir, `${name}.log`);
  const fd = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { detached: true, stdio: ["ignore", fd, fd], env: { ...process.env } });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
  const proc: ManagedProcess = {
    name,
    child,
    logPath,
    exit: undefined,
    exited: new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        proc.exit = { code, signal };
        if (child.pid !== undefined) liveGroups.delete(child.pid);
        resolve();
      });
      child.once("error", (error) => {
        proc.exit = { code: null, signal: null };
        void writeFile(logPath, `spawn failed: ${String(error)}\n`, { flag: "a" });
        resolve();
      });
    }),
  };
  if (child.pid !== undefined) liveGroups.add(child.pid);
  installExitHook();
  return proc;
}

async function stopProcess(proc: ManagedProcess): Promise<void> {
  const pid = proc.child.pid;
  if (pid === undefined || proc.exit !== undefined) return;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  };
  signalGroup("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    proc.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  // Also SIGKILL after a clean exit: children of the leader (if any) must not linger.
  signalGroup("SIGKILL");
  if (timedOut) await proc.exited;
  liveGroups.delete(pid);
}

function tail(text: string, bytes: number): string {
  return text.length <= bytes ? text : `…${text.slice(text.length - bytes)}`;
}

/** The tail of every `*.log` in `logDir`, for failure messages (empty string if none). */
export function readLogTails(logDir: string, bytesPerLog = LOG_TAIL_BYTES): string {
  if (!existsSync(logDir)) return "";
  const parts: string[] = [];
  // Synchronous on purpose: called from error paths that must not race with cleanup.
  const names = readdirSyncSafe(logDir).filter((n) => n.endsWith(".log")).sort();
  for (const n of names) {
    let text: string;
    try {
      text = readFileSync(join(logDir, n), "utf8");
    } catch {
      continue;
    }
    parts.push(`=== ${n} ===\n${tail(text, bytesPerLog)}`);
  }
  return parts.join("\n");
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Ports, certificates, probes

/** Picks `count` distinct free loopback ports (all held open together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("no port bound");
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly saKey: string;
  readonly saPub: string;
}

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = sluice-test
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
[v3_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  try {
    await execFileAsync("openssl", [...args], { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new ControlPlaneError(`openssl ${args.join(" ")} failed: ${stderr}`, "", { cause: error });
  }
}

/** CA, apiserver serving cert, admin client cert and the service-account key pair (all P-256). */
async function makePki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const cnf = join(dir, "openssl.cnf");
  await writeFile(cnf, OPENSSL_CONFIG);
  const days = String(CERT_VALIDITY_DAYS);
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    ["req", "-x509", "-new", "-config", cnf, "-extensions", "v3_ca", ...newKey, "-keyout", "ca.key", "-out", "ca.crt",
      "-days", days, "-subj", "/CN=sluice-test-ca"],
    dir,
  );
  const leaf = async (name: string, subject: string, extensions: string): Promise<void> => {
    await openssl(["req", "-new", "-config", cnf, ...newKey, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
    await openssl(
      ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key",
        "-set_serial", `0x${randomBytes(16).toString("hex")}`, "-days", days,
        "-extfile", cnf, "-extensions", extensions, "-out", `${name}.crt`],
      dir,
    );
  };
  await leaf("apiserver", "/CN=kube-apiserver", "v3_server");
  await leaf("admin", "/O=system:masters/CN=admin", "v3_client");
  await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sa.key"], dir);
  await openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
  const p = (n: string): string => join(dir, n);
  return {
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    serverCert: p("apiserver.crt"),
    serverKey: p("apiserver.key"),
    adminCert: p("admin.crt"),
    adminKey: p("admin.key"),
    saKey: p("sa.key"),
    saPub: p("sa.pub"),
  };
}

interface ProbeTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Only for the controller-manager/scheduler health ports, which serve self-signed certs. */
  readonly insecure?: boolean;
}

/** GET `url`; resolves with the status and body, or undefined when nothing answered. */
function probe(url: string, tls?: ProbeTls): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const options = {
      method: "GET",
      timeout: PROBE_TIMEOUT_MS,
      ...(tls === undefined
        ? {}
        : { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.insecure !== true }),
    };
    const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(u, options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/**
 * Polls `check` until it returns a value (not undefined) or `timeoutMs` passes; throws a
 * ControlPlaneError carrying the logs in `logDir` (if given) when it does not. `check` may throw
 * to abort at once (e.g. a process died).
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  logDir?: string,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof ControlPlaneError) throw error;
      lastError = error;
    }
    if (performance.now() >= deadline) {
      const detail = lastError === undefined ? "" : ` (last error: ${describeError(lastError)})`;
      throw new ControlPlaneError(
        `timed out after ${timeoutMs} ms waiting for ${what}${detail}`,
        logDir === undefined ? "" : readLogTails(logDir),
        { cause: lastError },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const body = (error as { body?: unknown }).body;
    return body === undefined ? error.message : `${error.message} ${typeof body === "string" ? body : JSON.stringify(body)}`;
  }
  return String(error);
}

// ---------------------------------------------------------------------------------------------
// The control plane

export interface ControlPlaneOptions {
  /** Fake Nodes managed by kwok (default 3). 0 skips kwok's Nodes but still runs kwok. */
  readonly nodeCount?: number;
  /** Keep the temp folder (certs, logs, etcd data) after stop(), for debugging. Also SLUICE_K8S_KEEP=1. */
  readonly keepWorkDir?: boolean;
}

export interface ControlPlane {
  /** A kubeconfig file (admin, system:masters) for kubectl/helm/client libraries. */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Loaded from the same credentials as `kubeconfigPath`. */
  readonly kubeConfig: KubeConfig;
  /** What `kube-apiserver --version` printed, e.g. "v1.37.2". */
  readonly version: string;
  /** The version the apiserver must report: versions.env's, or the binary's own for KUBEBUILDER_ASSETS. */
  readonly expectedVersion: string;
  /** Names of the fake Nodes kwok manages. */
  readonly nodeNames: readonly string[];
  readonly workDir: string;
  readonly logDir: string;
  readonly binaries: Binaries;
  /** The tails of every process log (for failure messages). */
  logs(): string;
  /** Stops everything in reverse order and removes the temp folder. Idempotent. */
  stop(): Promise<void>;
}

async function binaryVersion(path: string): Promise<string> {
  const { stdout } = await execFileAsync(path, ["--version"]);
  const match = /v\d+\.\d+\.\d+\S*/.exec(stdout);
  if (match === null) throw new ControlPlaneError(`cannot parse the version printed by ${path}: ${stdout}`, "");
  return match[0];
}

function kwokArgs(kubeconfig: string, stages: string, serverPort: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--config=${stages}`,
    "--manage-all-nodes=false",
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=${KWOK_NODE_ANNOTATION_VALUE}`,
    `--server-address=127.0.0.1:${serverPort}`,
    // Pod IPs come from here; they never leave the apiserver.
    "--cidr=10.244.0.0/16",
    "--node-ip=10.240.0.1",
    // Heartbeat through Leases (cheap) rather than Node status updates.
    "--node-lease-duration-seconds=40",
  ];
}

function fakeNode(name: string, index: number): V1Node {
  const capacity = { cpu: "32", memory: "256Gi", pods: "110", "ephemeral-storage": "1Ti" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE, "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        type: "kwok",
        [ZONE_LABEL]: `zone-${index}`,
      },
    },
    spec: {},
    // Nodes accept status on create; kwok then keeps conditions and heartbeats current.
    status: { capacity, allocatable: capacity },
  };
}

function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on loopback,
 * creates the fake Nodes and waits until they are Ready. Throws ControlPlaneError (with the
 * process logs) if anything does not come up within the budget; nothing is left running then.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const versions = readVersions();
  const binaries = resolveBinaries(versions);
  const nodeCount = options.nodeCount ?? DEFAULT_NODE_COUNT;
  if (!Number.isInteger(nodeCount) || nodeCount < 0 || nodeCount > NODE_COUNT_MAX) {
    throw new RangeError(`nodeCount must be an integer in [0, ${NODE_COUNT_MAX}], got ${nodeCount}`);
  }
  const keep = options.keepWorkDir === true || process.env["SLUICE_K8S_KEEP"] === "1";
  const deadline = performance.now() + START_TIMEOUT_MS;
  const remainingMs = (): number => Math.max(1, deadline - performance.now());

  const workDir = await mkdtemp(join(tmpdir(), "sluice-k8s-"));
  const logDir = join(workDir, "logs");
  await mkdir(logDir);
  const processes: ManagedProcess[] = [];
  let stopped = false;

  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const proc of [...processes].reverse()) await stopProcess(proc);
    if (!keep) await rm(workDir, { recursive: true, force: true });
  };

  /** Throws (aborting a poll) if any started process has exited. */
  const assertAllRunning = (): void => {
    for (const proc of processes) {
      if (proc.exit !== undefined) {
        throw new ControlPlaneError(
          `${proc.name} exited early (code ${String(proc.exit.code)}, signal ${String(proc.exit.signal)})`,
          readLogTails(logDir),
        );
      }
    }
  };
  const waitFor = <T>(what: string, check: () => Promise<T | undefined>): Promise<T> =>
    pollUntil(
      what,
      async () => {
        assertAllRunning();
        return check();
      },
      remainingMs(),
      logDir,
    );

  try {
    const [etcdClientPort, etcdPeerPort, apiPort, kcmPort, schedulerPort, kwokPort] = (await freePorts(6)) as [
      number, number, number, number, number, number,
    ];
    const pki = await makePki(join(workDir, "pki"));
    const [caPem, adminCertPem, adminKeyPem] = await Promise.all([
      readFile(pki.caCert),
      readFile(pki.adminCert),
      readFile(pki.adminKey),
    ]);
    const server = `https://127.0.0.1:${apiPort}`;
    const version = await binaryVersion(binaries["kube-apiserver"].path);
    const expectedVersion = binaries["kube-apiserver"].fromAssets ? version : versions.K8S_VERSION;

    // Kubeconfig: written through client-node's own export so file and object never disagree.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "sluice-test", server, caData: caPem.toString("base64"), skipTLSVerify: false }],
      users: [{ name: "admin", certData: adminCertPem.toString("base64"), keyData: adminKeyPem.toString("base64") }],
      contexts: [{ name: "sluice-test", cluster: "sluice-test", user: "admin" }],
      currentContext: "sluice-test",
    });
    const kubeconfigPath = join(workDir, "kubeconfig");
    await writeFile(kubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });

    // etcd
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    processes.push(
      startProcess(
        "etcd",
        binaries.etcd.path,
        [
          "--name=sluice-test",
          `--data-dir=${join(workDir, "etcd")}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=sluice-test=${peerUrl}`,
          // Test data: durability across power loss is worthless here, fsync latency is not.
          "--unsafe-no-fsync=true",
          "--log-level=warn",
        ],
        logDir,
      ),
    );
    await waitFor("etcd /health", async () => {
      const r = await probe(`${etcdUrl}/health`);
      return r !== undefined && r.status === 200 && r.body.includes('"health":"true"') ? true : undefined;
    });

    // kube-apiserver
    processes.push(
      startProcess(
        "kube-apiserver",
        binaries["kube-apiserver"].path,
        [
          `--etcd-servers=${etcdUrl}`,
          `--cert-dir=${join(workDir, "apiserver-certs")}`,
          `--tls-cert-file=${pki.serverCert}`,
          `--tls-private-key-file=${pki.serverKey}`,
          `--client-ca-file=${pki.caCert}`,
          "--bind-address=127.0.0.1",
          "--advertise-address=127.0.0.1",
          `--secure-port=${apiPort}`,
          "--service-cluster-ip-range=10.0.0.0/24",
          "--allow-privileged=true",
          "--authorization-mode=RBAC",
          // Pods need no ServiceAccount object (no kubelet mounts tokens here).
          "--disable-admission-plugins=ServiceAccount",
          `--service-account-issuer=${server}/`,
          `--service-account-key-file=${pki.saPub}`,
          `--service-account-signing-key-file=${pki.saKey}`,
          // No real endpoints to publish for the `kubernetes` Service (loopback is not allowed there).
          "--endpoint-reconciler-type=none",
        ],
        logDir,
      ),
    );
    const tls: ProbeTls = { ca: caPem, cert: adminCertPem, key: adminKeyPem };
    await waitFor("kube-apiserver /readyz", async () => {
      const r = await probe(`${server}/readyz`, tls);
      return r !== undefined && r.status === 200 ? true : undefined;
    });

    // kube-controller-manager: every default controller (StatefulSet → Pods, garbage collector,
    // namespace deletion, service-account tokens, node lifecycle, ...).
    processes.push(
      startProcess(
        "kube-controller-manager",
        binaries["kube-controller-manager"].path,
        [
          `--kubeconfig=${kubeconfigPath}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${kcmPort}`,
          `--cert-dir=${join(workDir, "kcm-certs")}`,
          "--leader-elect=false",
          "--controllers=*",
          `--root-ca-file=${pki.caCert}`,
          `--service-account-private-key-file=${pki.saKey}`,
          `--cluster-signing-cert-file=${pki.caCert}`,
          `--cluster-signing-key-file=${pki.caKey}`,
          "--use-service-account-credentials=false",
        ],
        logDir,
      ),
    );
    processes.push(
      startProcess(
        "kube-scheduler",
        binaries["kube-scheduler"].path,
        [
          `--kubeconfig=${kubeconfigPath}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${schedulerPort}`,
          `--cert-dir=${join(workDir, "scheduler-certs")}`,
          "--leader-elect=false",
        ],
        logDir,
      ),
    );
    processes.push(startProcess("kwok", binaries.kwok.path, kwokArgs(kubeconfigPath, kwokStagesPath(versions), kwokPort), logDir));

    // Their own health endpoints serve self-signed certs (generated in --cert-dir) and, with no
    // --authentication/authorization-kubeconfig, answer only the always-allowed /healthz, /readyz,
    // /livez: liveness is all we ask of them; the API calls below and the tests check the real work.
    const insecure: ProbeTls = { insecure: true };
    await waitFor("kube-controller-manager /healthz", async () => {
      const r = await probe(`https://127.0.0.1:${kcmPort}/healthz`, insecure);
      return r?.status === 200 ? true : undefined;
    });
    await waitFor("kube-scheduler /healthz", async () => {
      const r = await probe(`https://127.0.0.1:${schedulerPort}/healthz`, insecure);
      return r?.status === 200 ? true : undefined;
    });
    await waitFor("kwok /healthz", async () => {
      const r = await probe(`http://127.0.0.1:${kwokPort}/healthz`);
      return r?.status === 200 ? true : undefined;
    });

    // Fake Nodes, created through the API like a kubelet would register them.
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const nodeNames = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
    for (const [i, name] of nodeNames.entries()) {
      await core.createNode({ body: fakeNode(name, i) });
    }
    await waitFor(`${nodeCount} kwok Nodes Ready`, async () => {
      const list = await core.listNode({ labelSelector: "type=kwok" });
      const ready = list.items.filter(nodeReady).length;
      return ready === nodeCount ? true : undefined;
    });
    // The default ServiceAccount appearing proves the controller-manager acts on the API.
    await waitFor("the default ServiceAccount (controller-manager at work)", async () => {
      const list = await core.listNamespacedServiceAccount({ namespace: "default" });
      return list.items.some((sa) => sa.metadata?.name === "default") ? true : undefined;
    });

    return {
      kubeconfigPath,
      server,
      kubeConfig,
      version,
      expectedVersion,
      nodeNames,
      workDir,
      logDir,
      binaries,
      logs: () => readLogTails(logDir),
      stop: stopAll,
    };
  } catch (error) {
    const logs = readLogTails(logDir);
    await stopAll();
    if (error instanceof ControlPlaneError) throw error;
    throw new ControlPlaneError(`control plane failed to start: ${describeError(error)}`, logs, { cause: error });
  }
}
