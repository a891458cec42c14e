/**
 * A package-lock for a throw-away consumer project that depends on a packed scoregen tarball, built
 * from this repository's own lock, so `npm ci --offline` installs exactly the versions `npm ci`
 * already put in the npm cache (no registry metadata is needed; tarballs are found by integrity).
 */

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

/** Where Node's resolver finds `name` required from the package installed at `from` ("" = root). */
function locate(lock: Lockfile, from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    const candidate = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === "") return undefined;
    const cut = dir.lastIndexOf("/node_modules/");
    dir = cut < 0 ? "" : dir.slice(0, cut);
  }
}

/** Every lock path reachable from `roots` (names required by the project root), dependencies first-level hoisted as in `lock`. */
function closure(lock: Lockfile, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (from: string, name: string, optional: boolean) => {
    const path = locate(lock, from, name);
    if (path === undefined) {
      if (optional) return;
      throw new Error(
        `consumer lock: ${name} (needed by ${from || "the project"}) is not in package-lock.json; run npm install`,
      );
    }
    if (seen.has(path)) return;
    seen.add(path);
    const e = lock.packages[path]!;
    for (const d of Object.keys(e.dependencies ?? {})) visit(path, d, false);
    // A dependency's own optional dependencies (e.g. @resvg/resvg-js's per-platform binaries) must be in
    // the lock whether or not the project's own optional dependencies are wanted, or `npm ci` finds the
    // lock out of sync.
    for (const d of Object.keys(e.optionalDependencies ?? {})) visit(path, d, true);
  };
  for (const r of roots) visit("", r, false);
  return seen;
}

/**
 * package.json and package-lock.json of a consumer that depends on `tarball` (a path relative to the
 * consumer folder) and, as dev dependencies, on `devNames` at the versions in `repoLock`.
 * `withOptional`: include the optional dependencies (mnist) or leave them out.
 */
export function consumerProject(
  repoLock: Lockfile,
  tarball: string,
  devNames: string[],
  withOptional: boolean,
): { packageJson: object; lock: object } {
  const root = repoLock.packages[""]!;
  const prodNames = Object.keys(root.dependencies ?? {});
  const optNames = withOptional ? Object.keys(root.optionalDependencies ?? {}) : [];
  const prod = closure(repoLock, [...prodNames, ...optNames]);
  const dev = closure(repoLock, devNames);
  const devDeps = Object.fromEntries(devNames.map((n) => [n, repoLock.packages[`node_modules/${n}`]!.version!]));
  const packages: Record<string, LockEntry> = {
    "": { name: "consumer", dependencies: { scoregen: `file:${tarball}` }, devDependencies: devDeps },
    "node_modules/scoregen": {
      version: root.version as string,
      resolved: `file:${tarball}`,
      dependencies: root.dependencies,
      ...(withOptional ? { optionalDependencies: root.optionalDependencies } : {}),
      bin: root.bin,
      engines: root.engines,
    },
  };
  const copy = (path: string, dev: boolean) => {
    const { dev: _d, devOptional: _o, optional: _p, peer: _q, ...rest } = repoLock.packages[path]!;
    packages[path] = dev ? { ...rest, dev: true } : rest;
  };
  for (const p of [...prod].sort()) copy(p, false);
  for (const p of [...dev].sort()) if (!prod.has(p)) copy(p, true);
  return {
    packageJson: {
      name: "consumer",
      private: true,
      type: "module",
      dependencies: { scoregen: `file:${tarball}` },
      devDependencies: devDeps,
    },
    lock: { name: "consumer", lockfileVersion: 3, requires: true, packages },
  };
}
