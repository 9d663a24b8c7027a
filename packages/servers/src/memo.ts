/**
 * The promise `pending` holds for `key`, made by `make` the first time:
 * callers share one attempt, and a failed one is forgotten so that the next
 * call tries again.
 */
export function memoized<K, T>(pending: Map<K, Promise<T>>, key: K, make: () => Promise<T>): Promise<T> {
  let promise = pending.get(key);
  if (!promise) {
    promise = make();
    pending.set(key, promise);
    promise.catch(() => pending.delete(key));
  }
  return promise;
}
