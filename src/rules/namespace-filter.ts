// Which namespaces are recorded: include globs (empty = all), minus exclude globs, minus kubescribe's own.
export function namespaceFilter(include: readonly string[], exclude: readonly string[], ownNamespace: string): (ns: string) => boolean {
  const inc = include.map(glob);
  const exc = [...exclude, ownNamespace].map(glob);
  return (ns) => {
    if (ns === '') return true; // cluster-scoped objects
    if (inc.length > 0 && !inc.some((r) => r.test(ns))) return false;
    return !exc.some((r) => r.test(ns));
  };
}

export function glob(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}
