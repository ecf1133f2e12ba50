// "Which of these sorted start addresses is the last one at or below addr?" in a few steps:
// a bucket table over the address span narrows the binary search to the handful of starts
// in one bucket, which keeps random lookups (hovers, 100k-address batches) out of cache
// misses on a 14-step search over the whole array.

export class AddressIndex {
  private readonly base: number;
  private readonly bucketSize: number;
  /** firstAt[k]: index of the last start ≤ base + k·bucketSize (-1 if none). */
  private readonly firstAt: Int32Array;

  /** starts must be sorted ascending. */
  constructor(private readonly starts: Float64Array) {
    const n = starts.length;
    this.base = n > 0 ? starts[0] : 0;
    const span = n > 0 ? starts[n - 1] - this.base + 1 : 1;
    // about one bucket per start, power-of-two sized, at most 4n + 16 buckets
    let size = 1;
    while (span / size > 4 * n + 16) size *= 2;
    while (size > 1 && span / (size / 2) <= n) size /= 2;
    this.bucketSize = size;
    const count = Math.floor(span / size) + 2;
    this.firstAt = new Int32Array(count);
    let i = -1;
    for (let k = 0; k < count; k++) {
      const at = this.base + k * size;
      while (i + 1 < n && starts[i + 1] <= at) i++;
      this.firstAt[k] = i;
    }
  }

  /** Index of the last start ≤ addr, or -1. */
  indexAt(addr: number): number {
    const starts = this.starts;
    if (starts.length === 0 || addr < this.base) return -1;
    const k = Math.floor((addr - this.base) / this.bucketSize);
    let lo: number;
    let hi: number;
    if (k + 1 < this.firstAt.length) {
      lo = this.firstAt[k] + 1;
      hi = this.firstAt[k + 1] + 1;
    } else {
      lo = this.firstAt[this.firstAt.length - 1] + 1;
      hi = starts.length;
    }
    // answer is in [lo - 1, hi - 1]: find the first start > addr in [lo, hi)
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}
