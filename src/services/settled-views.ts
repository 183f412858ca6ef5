/**
 * Views of records that can no longer change, kept in memory so that reading them again costs
 * no database query: a task in a final state whose callback is settled (none was asked for, or
 * it was acknowledged, or given up on). Clients poll a task until it ends and then fetch it
 * again for its URLs, so these are most reads. Being immutable, the views need no invalidation,
 * also when several dhp processes share one database. Bounded: beyond `max` entries the oldest
 * remembered goes first.
 */
export class SettledViews<V> {
  private readonly views = new Map<string, V>();

  constructor(private readonly max = 20_000) {}

  get(appPk: number, id: number | string): V | undefined {
    return this.views.get(`${appPk}:${id}`);
  }

  remember(appPk: number, id: number | string, view: V): V {
    if (this.views.size >= this.max) this.views.delete(this.views.keys().next().value!);
    this.views.set(`${appPk}:${id}`, Object.freeze(view));
    return view;
  }

  get size(): number { return this.views.size; }
}
