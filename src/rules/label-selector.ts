// Kubernetes label selector matching (matchLabels + matchExpressions); an empty selector matches all.
import type { LabelSelector } from './schemas.ts';

export function selectorMatcher(sel: LabelSelector | undefined): (labels: Readonly<Record<string, string>> | undefined) => boolean {
  if (!sel || (!sel.matchLabels && !sel.matchExpressions?.length)) return () => true;
  const eq = Object.entries(sel.matchLabels ?? {});
  const exprs = sel.matchExpressions ?? [];
  return (labels = {}) => {
    for (const [k, v] of eq) if (labels[k] !== v) return false;
    for (const e of exprs) {
      const has = Object.prototype.hasOwnProperty.call(labels, e.key);
      const value = labels[e.key];
      switch (e.operator) {
        case 'In': if (!has || !(e.values ?? []).includes(value as string)) return false; break;
        case 'NotIn': if (has && (e.values ?? []).includes(value as string)) return false; break;
        case 'Exists': if (!has) return false; break;
        case 'DoesNotExist': if (has) return false; break;
      }
    }
    return true;
  };
}
