import type { FastifyInstance, FastifyBaseLogger, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../app.js';
import type { App } from '../store/schema.js';

declare module 'fastify' {
  interface FastifyRequest { tenant: App }
  interface FastifyContextConfig {
    /**
     * Who may call the route: 'app' needs an access token (the default for every /openapi/
     * route), 'public' needs none. Decided on the route that matched, never on the raw URL.
     */
    auth?: 'public' | 'app';
    /** Limit this route per client address (the token endpoint: it is called without a token). */
    perClientLimit?: boolean;
  }
}

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export type RoutePlugin = (api: Api, services: Services) => void;
