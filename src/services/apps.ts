import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Db } from '../store/db.js';
import type { App, Database, QuotaKind } from '../store/schema.js';
import { quotaKinds, type QuotaService } from './quota.js';

export interface CreatedApp { appId: string; secret: string; userId: number; corpId: number }

export type QuotaTotals = Partial<Record<QuotaKind, number>>;

/** Apps are tenants: an appId + secret pair, a user id, an enterprise id and quotas. */
export class AppsService {
  constructor(
    private readonly db: Db,
    private readonly quota: QuotaService,
    private readonly clock: Clock,
    private readonly defaults: Config['defaultQuota'],
    /** Told when an app's access changed, so this process forgets cached tokens at once (other processes re-read within DHP_AUTH_CACHE_MS). */
    private readonly accessChanged: (appPk: number) => void = () => undefined,
  ) {}

  async create(opts: { name: string; corpId?: number; quota?: QuotaTotals }): Promise<CreatedApp> {
    const appId = randomBytes(12).toString('hex');
    const secret = randomBytes(24).toString('base64url');
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.insertInto('apps').values({
        app_id: appId, secret, name: opts.name, corp_id: opts.corpId ?? 0, created_at: this.clock.now(),
      }).returning('id').executeTakeFirstOrThrow();
      const id = Number(row.id);
      // Without an explicit enterprise, each app is its own enterprise.
      const corpId = opts.corpId ?? id;
      if (opts.corpId === undefined) await tx.updateTable('apps').set({ corp_id: corpId }).where('id', '=', id).execute();
      const totals: Record<QuotaKind, number> = {
        tts_words: this.defaults.ttsWords,
        fast_duration: this.defaults.fastDuration,
        fast_training: this.defaults.fastTraining,
        voice_clone: this.defaults.voiceClone,
        ...opts.quota,
      };
      for (const k of quotaKinds) await this.quota.grant(tx, id, k, totals[k]);
      return { appId, secret, userId: id, corpId };
    });
  }

  async setQuota(appId: string, totals: QuotaTotals): Promise<App> {
    const app = await this.byAppId(appId);
    if (!app) throw new Error(`no app with appId ${appId}`);
    await this.db.transaction().execute(async (tx) => {
      for (const [k, v] of Object.entries(totals) as [QuotaKind, number][]) await this.quota.grant(tx, app.id, k, v);
    });
    return app;
  }

  /** Refuses the app's tokens and signatures until `enable`; its queued tasks still finish. */
  async disable(appId: string): Promise<App> {
    return this.changeAccess(appId, (tx, app) => tx.updateTable('apps').set({ disabled_at: this.clock.now() }).where('id', '=', app.id).execute());
  }

  async enable(appId: string): Promise<App> {
    return this.changeAccess(appId, (tx, app) => tx.updateTable('apps').set({ disabled_at: null }).where('id', '=', app.id).execute());
  }

  /** Ends every token of the app; it signs for new ones with its secret. Answers how many were live. */
  async revokeTokens(appId: string): Promise<number> {
    let n = 0;
    await this.changeAccess(appId, async (tx, app) => {
      const r = await tx.deleteFrom('tokens').where('app_pk', '=', app.id).where('expires_at', '>', this.clock.now()).executeTakeFirst();
      n = Number(r.numDeletedRows);
      await tx.deleteFrom('tokens').where('app_pk', '=', app.id).execute();
    });
    return n;
  }

  /** A new secret; the old one and every token signed with it stop working. */
  async rotateSecret(appId: string): Promise<{ appId: string; secret: string }> {
    const secret = randomBytes(24).toString('base64url');
    await this.changeAccess(appId, async (tx, app) => {
      await tx.updateTable('apps').set({ secret }).where('id', '=', app.id).execute();
      await tx.deleteFrom('tokens').where('app_pk', '=', app.id).execute();
    });
    return { appId, secret };
  }

  private async changeAccess(appId: string, change: (tx: Transaction<Database>, app: App) => Promise<unknown>): Promise<App> {
    const app = await this.byAppId(appId);
    if (!app) throw new Error(`no app with appId ${appId}; see "dhp app list"`);
    await this.db.transaction().execute((tx) => change(tx, app));
    this.accessChanged(app.id);
    return (await this.byId(app.id))!;
  }

  async byAppId(appId: string): Promise<App | undefined> {
    const app = await this.db.selectFrom('apps').selectAll().where('app_id', '=', appId).executeTakeFirst();
    return app && normalizeApp(app);
  }

  async byId(id: number): Promise<App | undefined> {
    const app = await this.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
    return app && normalizeApp(app);
  }

  async list(): Promise<App[]> {
    return (await this.db.selectFrom('apps').selectAll().orderBy('id').execute()).map(normalizeApp);
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('apps').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

export function normalizeApp(a: App): App {
  return {
    ...a, id: Number(a.id), corp_id: Number(a.corp_id), created_at: Number(a.created_at),
    disabled_at: a.disabled_at === null || a.disabled_at === undefined ? null : Number(a.disabled_at),
  };
}
