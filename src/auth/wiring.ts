import type { AuthConfig } from "../config/mod.ts";
import type { Endpoint } from "../http/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { AuthTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { Access, Authorize, WsServer } from "../ws/mod.ts";
import { createAuthorize, defaultGrantOf } from "./authorize.ts";
import { enforceRevocations } from "./revocation_enforcement.ts";
import type { RevocationShare, RevocationStatus } from "./revocations.ts";
import { type AuthSetup, prepareAuth } from "./setup.ts";
import { createTokenEndpoint } from "./token_endpoint.ts";
import { type ClientAddress, createClientAddress } from "./trusted_proxies.ts";

/** What an app mounts for authentication, each part only when the config asks for it. */
export interface AuthRoutes {
  /** The upgrade check: with an auth mode or an Origin allow-list. */
  readonly authorize: Authorize | undefined;
  /** `POST /ws/sessions` (`TOKEN_ENDPOINT_PATH`): with a private key to sign with. */
  readonly tokenEndpoint: Endpoint | undefined;
  /** Each request's client address, through `PHAROS_TRUSTED_PROXIES`. */
  readonly clientAddress: ClientAddress;
  /**
   * What a client may see when its credentials do not say (`PHAROS_DEFAULT_VIEWS`, no
   * claims): every client with `none`, a token without a `views` claim otherwise.
   */
  readonly defaultAccess: Access;
  /**
   * The revocation list (with `PHAROS_AUTH=jwt` or `static`): the upgrade check refuses
   * what it names; {@link RevocationWatch} closes the live sessions it names.
   */
  readonly revocations: RevocationWatch | undefined;
  /**
   * `/status`'s `auth` section: the grants in force (the default views, and the number of
   * views with a row rule, `rowRules`), the JWT key set in force and its age, and the
   * revocation list in force, its size and age.
   */
  status(grants: { readonly rowRules: number }): { readonly auth: AuthStatus };
}

/** The revocation list's life in an app: what it holds to the list, start and stop. */
export interface RevocationWatch {
  /**
   * Closes the live sessions of `sessions` whose token the list names, now and on each
   * change; in cluster mode, shares the list through `share` (a Redis key and channel).
   */
  enforce(sessions: Pick<WsServer, "revokeSessions">, share?: RevocationShare): void;
  /** Starts watching the source (a file every second, a URL on its interval). */
  start(): void;
  /** Stops watching; resolves once no reading is under way. */
  stop(): Promise<void>;
}

/** `/status`'s `auth`: the grants, the JWT key set and the revocation list in force. */
export interface AuthStatus {
  readonly mode: AuthConfig["authMode"];
  /** The view patterns of clients whose token names none. */
  readonly default_views: readonly string[];
  /** Views whose rows the stack's row rules filter. */
  readonly row_rules: number;
  readonly jwks?: {
    readonly source: "url" | "file";
    readonly keys: number;
    readonly age_seconds: number;
  };
  readonly revoked?: RevocationStatus;
}

/** Inputs of {@link createAuthRoutes} besides the config. */
export interface AuthRoutesOptions {
  /** Verifiers and minter from `prepareAuth`. */
  readonly setup: AuthSetup;
  /** Replaces the upgrade check built from `config`. */
  readonly authorize: Authorize | undefined;
  /** Ages the key set for `/status`. */
  readonly clock: Clock;
  readonly log: Logger;
  readonly telemetry: AuthTelemetry;
}

/**
 * Loads what `config` names (keys from a file or URL) and builds what an app mounts.
 * Throws a {@link ConfigError} naming what is wrong: a bad key stops start-up rather than
 * locking every client out later.
 */
export async function openAuth(
  config: AuthConfig,
  options: Omit<AuthRoutesOptions, "setup">,
): Promise<AuthRoutes> {
  const setup = await prepareAuth(config, options);
  return createAuthRoutes(config, { ...options, setup });
}

/** The upgrade check, the token endpoint and the client address for `config`. */
export function createAuthRoutes(config: AuthConfig, options: AuthRoutesOptions): AuthRoutes {
  const { setup, log, clock } = options;
  const revocations = setup.revocations;
  const checks = config.authMode !== "none" || config.allowedOrigins.length > 0;
  const minter = setup.minter;
  const defaultAccess: Access = Object.freeze({ views: defaultGrantOf(config), claims: {} });
  return {
    defaultAccess,
    authorize: options.authorize ??
      (checks ? createAuthorize(config, setup, log, defaultAccess.views) : undefined),
    tokenEndpoint: minter === undefined ? undefined : createTokenEndpoint(config, minter, log),
    clientAddress: createClientAddress({
      trustedProxies: config.trustedProxies,
      onForwardedProblem(problem) {
        options.telemetry.forwardedHeaderRejected(problem);
        log.debug("Forwarding headers from a trusted proxy name no client ({problem})", {
          problem,
        });
      },
    }),
    revocations: revocations === undefined ? undefined : {
      enforce(sessions, share) {
        enforceRevocations(revocations, sessions, { log, telemetry: options.telemetry });
        if (share !== undefined) revocations.shareThrough(share);
      },
      start: () => revocations.start(),
      stop: () => revocations.stop(),
    },
    status({ rowRules }) {
      const keys = setup.keys?.status();
      const revoked = revocations?.status();
      return {
        auth: {
          mode: config.authMode,
          default_views: defaultAccess.views.patterns,
          row_rules: rowRules,
          ...(keys === undefined ? {} : {
            jwks: {
              source: keys.source,
              keys: keys.keys,
              age_seconds: Math.max(0, Math.round((clock.now() - keys.loadedAt) / 1000)),
            },
          }),
          ...(revoked === undefined ? {} : { revoked }),
        },
      };
    },
  };
}
