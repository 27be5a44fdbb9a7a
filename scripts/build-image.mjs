// The container image: pgcopy's CLI for ECS/Fargate tasks and any OCI runtime.
//
//   node scripts/build-image.mjs   (npm run build:image; Linux x64, as root, with buildah)
//
// builds from scratch (no base image, no registry): one bundled CLI file, the official Node 22
// build from the npm registry (scripts/fetch-node.mjs), the shared libraries that binary loads
// (copied from this machine, as ldd lists them), the CA certificates, and /etc/passwd and
// /etc/group naming the unprivileged user it runs as. No shell, no package manager, no compiler.
// It is committed into the local image store as localhost/pgcopy:latest and written as an OCI
// archive, dist/image/pgcopy.oci.tar (`podman load -i` or `skopeo copy` it to a registry).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ESM_BANNER, bundle } from './bundle.mjs';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'dist', 'image');
const archive = join(out, 'pgcopy.oci.tar');
const IMAGE = 'localhost/pgcopy:latest';

/** The user the image runs as: distroless's "nonroot" number, owning nothing but its work dir. */
const UID = 65532;
/** The working directory: the audit log's default place, writable by that user only. */
const WORKDIR = '/work';
const NODE_MAJOR = '22';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

function fail(message) {
  process.stderr.write(`build-image: ${message}\n`);
  process.exit(1);
}

function run(command, args) {
  return execFileSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/** bin/pgcopy.js in one file: the CLI with every dependency, needing no node_modules. */
function bundleCli() {
  return bundle({
    stdin: {
      contents: "import { main } from './src/cli/main.ts';\nawait main(process.argv.slice(2));\n",
      resolveDir: root,
      sourcefile: 'pgcopy.ts',
      loader: 'ts',
    },
    target: 'node22',
    format: 'esm',
    banner: { js: ESM_BANNER },
  });
}

/** The libraries `binary` loads, with the dynamic loader: [path in the image, file on the host]. */
function sharedLibraries(binary) {
  const found = [];
  for (const line of run('ldd', [binary]).split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (line.includes('not found')) fail(`${binary} needs a library this machine lacks: ${line}`);
    if (match?.[1]) found.push([match[1], run('readlink', ['-f', match[1]])]);
  }
  if (!found.some(([path]) => path.includes('ld-linux'))) fail(`ldd named no loader for ${binary}`);
  return found;
}

async function place(rootfs, path, data, mode = 0o644) {
  const to = join(rootfs, path);
  await mkdir(dirname(to), { recursive: true });
  await writeFile(to, data);
  await chmod(to, mode);
}

async function fillRootfs(rootfs, node, cli) {
  const bin = join(rootfs, 'usr', 'local', 'bin', 'node');
  await mkdir(dirname(bin), { recursive: true });
  await copyFile(node, bin);
  // The official build carries its debug symbols (about 17 MiB): they never run.
  if (existsSync('/usr/bin/strip')) run('strip', ['--strip-unneeded', bin]);
  await chmod(bin, 0o755);
  for (const [path, file] of sharedLibraries(node)) {
    await place(rootfs, path, await readFile(file), 0o755);
  }
  await place(rootfs, '/app/pgcopy.mjs', cli);
  await place(rootfs, '/app/package.json', '{ "type": "module" }\n');
  if (!existsSync(CA_BUNDLE)) fail(`${CA_BUNDLE} is missing: install the ca-certificates package`);
  await place(rootfs, CA_BUNDLE, await readFile(CA_BUNDLE));
  await place(rootfs, '/etc/passwd', `pgcopy:x:${UID}:${UID}:pgcopy:${WORKDIR}:/sbin/nologin\n`);
  await place(rootfs, '/etc/group', `pgcopy:x:${UID}:\n`);
  // Writable by the user the image runs as: the working directory (the audit log's default place)
  // is its own, /tmp everyone's.
  await mkdir(join(rootfs, WORKDIR), { recursive: true });
  await chown(join(rootfs, WORKDIR), UID, UID);
  await chmod(join(rootfs, WORKDIR), 0o750);
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  await chmod(join(rootfs, 'tmp'), 0o1777);
}

function configure(container, version) {
  const env = {
    HOME: WORKDIR,
    NODE_ENV: 'production',
    // Node trusts its own copy of Mozilla's roots; this adds the system bundle, and is where a
    // private CA (RDS's, a company's) can be mounted in its place.
    NODE_EXTRA_CA_CERTS: CA_BUNDLE,
    PATH: '/usr/local/bin',
  };
  run('buildah', [
    'config',
    '--entrypoint',
    JSON.stringify(['/usr/local/bin/node', '/app/pgcopy.mjs']),
    '--cmd',
    '--help',
    '--user',
    `${UID}:${UID}`,
    '--workingdir',
    WORKDIR,
    ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    '--label',
    'org.opencontainers.image.title=pgcopy',
    '--label',
    `org.opencontainers.image.version=${version}`,
    '--label',
    'org.opencontainers.image.licenses=GPL-3.0-or-later',
    container,
  ]);
}

/** The image's id in the local store, or undefined when there is none. */
function imageId() {
  try {
    return execFileSync(
      'buildah',
      ['inspect', '--type', 'image', '--format', '{{.FromImageID}}', IMAGE],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).trim();
  } catch {
    return undefined;
  }
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  fail(
    `the image is linux-x64, built on a linux-x64 machine; this is ${process.platform}-${process.arch}`,
  );
}
for (const tool of ['buildah', 'ldd']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    fail(`${tool} is not installed (Debian: apt-get install buildah podman runc)`);
  }
}

const started = Date.now();
const previous = imageId();
const node = run(process.execPath, [join(root, 'scripts', 'fetch-node.mjs'), NODE_MAJOR]);
const cli = await bundleCli();
const container = run('buildah', ['from', '--quiet', 'scratch']);
try {
  const rootfs = run('buildah', ['mount', container]);
  await fillRootfs(rootfs, node, cli);
  run('buildah', ['umount', container]);
  configure(container, JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).version);
  run('buildah', ['commit', '--quiet', '--rm', container, IMAGE]);
} catch (error) {
  execFileSync('buildah', ['rm', container], { stdio: 'ignore' });
  throw error;
}
// The image this one replaces would stay behind untagged, 109 MiB a build: removed, unless a
// container still uses it.
if (previous !== undefined && previous !== imageId()) {
  try {
    execFileSync('buildah', ['rmi', previous], { stdio: 'ignore' });
  } catch {
    // still in use: it goes with the container that holds it
  }
}
await mkdir(out, { recursive: true });
await rm(archive, { force: true });
run('buildah', ['push', '--quiet', IMAGE, `oci-archive:${archive}`]);

const size = Number(run('podman', ['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
console.log(
  `${IMAGE}: ${mib(size)} (CLI ${mib(cli.length)}); ${join('dist', 'image', 'pgcopy.oci.tar')}: ` +
    `${mib((await stat(archive)).size)}; built in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
