/** One page of a list, as every list endpoint answers it. */
export interface Page<T> { pageSize: number; pageNo: number; totalRecord: number; records: T[] }

/**
 * One page of a list endpoint: the total and the rows, fetched together, mapped
 * to the wire view. `count` and `rows` are the same filtered query, counted and limited.
 */
export async function pageOf<R, V>(
  page: number, size: number,
  count: () => Promise<{ n: number | string | bigint }>,
  rows: (limit: number, offset: number) => Promise<R[]>,
  view: (row: R) => V,
): Promise<Page<V>> {
  const [{ n }, found] = await Promise.all([count(), rows(size, (page - 1) * size)]);
  return { pageSize: size, pageNo: page, totalRecord: Number(n), records: found.map(view) };
}
