/** Index (from `from`) of the largest of `n` values of `a` starting at `from` (the first of equals). */
export function argmax(a: ArrayLike<number>, from = 0, n = a.length - from): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[from + j] > a[from + best]) best = j;
  return best;
}
