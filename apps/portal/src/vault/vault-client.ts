import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '#libs/config';
import { PageError } from '../pages/page-error.js';

/** How long a call to the vault may take, answer included, before the page says the service is unavailable. */
const VAULT_TIMEOUT_MS = 10_000;

/** A refusal of the vault (a 4xx problem+json): its code, its titles and its field errors. */
export class VaultProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly titles: { fr: string; en: string },
    readonly errors: { field: string; message: string }[],
  ) {
    super(`${status} ${code}`);
    this.name = 'VaultProblem';
  }
}

export interface VaultAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/**
 * The portal's only way to a citizen's data: the vault's HTTP API, called
 * with the citizen's own access token, so the vault alone decides what is
 * theirs. A token the vault no longer takes sends the citizen to sign in; a
 * vault that does not answer in time, or fails, is a 503 page; a refusal is
 * a VaultProblem for the page to show.
 */
@Injectable()
export class VaultClient {
  private readonly logger = new Logger(VaultClient.name);
  private readonly base: string;

  constructor(config: AppConfig) {
    this.base = config.urls.vault;
  }

  async json<T>(token: string | null, method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.raw(token, method, path, body, 'application/json');
    if (answer.status === 204) return undefined as T;
    return JSON.parse(answer.body.toString('utf8')) as T;
  }

  /** The answer as it is (a receipt, a calendar, an export), for the portal to pass on. */
  async raw(
    token: string | null,
    method: string,
    path: string,
    body?: unknown,
    accept = '*/*',
  ): Promise<VaultAnswer> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          accept,
          ...(token && { authorization: `Bearer ${token}` }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(VAULT_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (error) {
      this.logger.warn({ path: path.split('?')[0], error: (error as Error).message }, 'the vault did not answer');
      throw new PageError('unavailable');
    }
    let answered: Buffer;
    try {
      answered = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      // The answer cut off, or past its deadline: nothing to show but that the service is unavailable.
      this.logger.warn({ path: path.split('?')[0], error: (error as Error).message }, 'the vault’s answer did not arrive whole');
      throw new PageError('unavailable');
    }
    const answer: VaultAnswer = {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: answered,
    };
    if (answer.status === 401) throw new PageError('sign-in');
    if (answer.status >= 500 || answer.status === 429) {
      this.logger.warn({ path: path.split('?')[0], status: answer.status }, 'the vault could not serve');
      throw new PageError('unavailable');
    }
    if (answer.status >= 400) throw problemOf(answer);
    return answer;
  }
}

function problemOf(answer: VaultAnswer): VaultProblem {
  try {
    const problem = JSON.parse(answer.body.toString('utf8')) as {
      code?: string;
      title?: string;
      titles?: { fr: string; en: string };
      errors?: { field: string; message: string }[];
    };
    return new VaultProblem(
      answer.status,
      problem.code ?? 'error',
      problem.titles ?? { fr: problem.title ?? '', en: problem.title ?? '' },
      problem.errors ?? [],
    );
  } catch {
    return new VaultProblem(answer.status, 'error', { fr: '', en: '' }, []);
  }
}
