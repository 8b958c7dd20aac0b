// The one fetch wrapper every page uses. Why one: the bearer token, the refresh-once-on-401 rule,
// the error envelope and sign-out on a dead session must behave the same everywhere.
// The access token lives only in this object's memory (nothing secret in localStorage). The
// refresh token of a browser session is an HttpOnly cookie the page never sees: a reload or a new
// tab gets a fresh access token from it (POST /auth/refresh with the double-submit CSRF header).

import type { ErrorEnvelope, LoginResponse, RefreshResponse } from './types'

/** Asks the server to keep the refresh token in its HttpOnly cookie. */
export const SESSION_HEADER = 'X-NexaVPN-Session'
export const CSRF_COOKIE = 'nexavpn_csrf'
export const CSRF_HEADER = 'X-CSRF-Token'

/** The double-submit CSRF value the server set as a readable cookie ('' when none). */
export function csrfToken(cookies: string = typeof document === 'undefined' ? '' : document.cookie): string {
  for (const part of cookies.split(';')) {
    const [name, ...rest] = part.trim().split('=')
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join('='))
  }
  return ''
}

/** A password that was right for a user with TOTP on: the second step is still to come. */
export interface MfaChallenge {
  mfa_required: true
  mfa_token: string
  methods: string[]
}

export function isChallenge(answer: LoginResponse | MfaChallenge): answer is MfaChallenge {
  return (answer as MfaChallenge).mfa_required === true
}

export const API_BASE = '/api/v1'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** An API failure carrying the contract's stable code, its message and the fields it names. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: Record<string, unknown>

  constructor(status: number, code: string, message: string, details?: Record<string, unknown> | null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details ?? {}
  }

  /** Messages keyed by the request field they are about (empty when none is named). */
  get fieldErrors(): Record<string, string> {
    return fieldMessages(this.details, this.message)
  }
}

/** Codes the client makes itself (the server's codes come from the envelope). */
export const NETWORK_ERROR = 'network_error'
export const SESSION_ENDED = 'session_ended'

function firstMessage(value: unknown): string | null {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = firstMessage(item)
      if (found) return found
    }
    return null
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = firstMessage(item)
      // Nested list errors come keyed by index ({"1": ["..."]}): say which entry.
      if (found) return /^\d+$/.test(key) ? `Entry ${Number(key) + 1}: ${found}` : found
    }
  }
  return null
}

/**
 * Turn the envelope's `details` into {field: message}. Accepts the shapes the backend uses:
 * {field: [msg]} / {field: msg} (validation), {"field": name} (+ the error's message), and
 * {"fields": {...}}. `_schema` (whole-body errors) is not a field and is left out.
 */
export function fieldMessages(details: unknown, fallback = ''): Record<string, string> {
  const out: Record<string, string> = {}
  if (details === null || typeof details !== 'object' || Array.isArray(details)) return out
  for (const [key, value] of Object.entries(details as Record<string, unknown>)) {
    if (key === '_schema') continue
    if (key === 'field' && typeof value === 'string') {
      if (!(value in out)) out[value] = fallback
      continue
    }
    if (key === 'fields' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      Object.assign(out, fieldMessages(value, fallback))
      continue
    }
    const msg = firstMessage(value)
    if (msg) out[key] = msg
  }
  return out
}

const STATUS_MESSAGES: Record<number, string> = {
  400: 'The request was not accepted.',
  401: 'You are not signed in.',
  403: 'You are not allowed to do that.',
  404: 'Not found.',
  409: 'That conflicts with the current state.',
  410: 'That no longer exists.',
  413: 'The request is too large.',
  429: 'Too many attempts; wait a moment and try again.',
  502: 'The server is unreachable (bad gateway).',
  503: 'The service is unavailable right now.',
  504: 'The server took too long to answer.',
}

function isEnvelope(value: unknown): value is ErrorEnvelope {
  if (value === null || typeof value !== 'object') return false
  const err = (value as { error?: unknown }).error
  if (err === null || typeof err !== 'object') return false
  const { code, message } = err as { code?: unknown; message?: unknown }
  return typeof code === 'string' && typeof message === 'string'
}

async function readBody(resp: Response): Promise<unknown> {
  if (resp.status === 204 || resp.status === 304) return undefined
  const text = await resp.text()
  if (!text) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** Build the ApiError for a non-2xx answer, from the envelope when there is one. */
export async function errorFromResponse(resp: Response): Promise<ApiError> {
  const body = await readBody(resp)
  if (isEnvelope(body)) {
    const { code, message, details } = body.error
    return new ApiError(resp.status, code, message, details ?? {})
  }
  const message = STATUS_MESSAGES[resp.status] ?? `The server answered ${resp.status}.`
  return new ApiError(resp.status, `http_${resp.status}`, message)
}

export type QueryValue = string | number | boolean | null | undefined

export interface RequestOptions {
  body?: unknown
  query?: Record<string, QueryValue>
  /** false for calls made before signing in (login); they never trigger a refresh. */
  auth?: boolean
  /** Sign-in calls of the admin UI: the refresh token goes into the HttpOnly cookie. */
  browserSession?: boolean
  signal?: AbortSignal
}

export interface ApiClientOptions {
  baseUrl?: string
  fetchImpl?: typeof fetch
}

interface Tokens {
  access: string
  /** Only for sessions handed over in the body (tests, scripts); browser sessions use the cookie. */
  refresh: string | null
}

export function buildQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

export class ApiClient {
  private readonly baseUrl: string
  private readonly fetchImpl: typeof fetch
  private tokens: Tokens | null = null
  private refreshing: Promise<void> | null = null
  private readonly signOutListeners = new Set<() => void>()

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? API_BASE
    // Bind: window.fetch throws "Illegal invocation" when called as a method of another object.
    this.fetchImpl = options.fetchImpl ?? ((input, init) => globalThis.fetch(input, init))
  }

  get signedIn(): boolean {
    return this.tokens !== null
  }

  /** Called when the session ends by itself (refresh refused) or by signing out. */
  onSignOut(listener: () => void): () => void {
    this.signOutListeners.add(listener)
    return () => {
      this.signOutListeners.delete(listener)
    }
  }

  setTokens(access: string, refresh: string | null = null): void {
    this.tokens = { access, refresh }
  }

  /** Forget the tokens and tell the app; safe to call twice. */
  endSession(): void {
    const had = this.tokens !== null
    this.tokens = null
    this.refreshing = null
    if (had) for (const listener of [...this.signOutListeners]) listener()
  }

  async login(username: string, password: string): Promise<LoginResponse | MfaChallenge> {
    const answer = await this.request<LoginResponse | MfaChallenge>('POST', '/auth/login', {
      body: { username, password },
      auth: false,
      browserSession: true,
    })
    if (!isChallenge(answer)) this.setTokens(answer.access_token, answer.refresh_token ?? null)
    return answer
  }

  /** Second step of a sign-in with TOTP on: a code from the app or a recovery code. */
  async verifyMfa(mfaToken: string, code: string): Promise<LoginResponse> {
    const answer = await this.request<LoginResponse>('POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, code },
      auth: false,
      browserSession: true,
    })
    this.setTokens(answer.access_token, answer.refresh_token ?? null)
    return answer
  }

  /** Finish a single sign-on: the one-time code and the PKCE verifier of its start. */
  async exchangeSsoCode(code: string, verifier: string): Promise<LoginResponse> {
    const answer = await this.request<LoginResponse>('POST', '/auth/oidc/token', {
      body: { code, code_verifier: verifier },
      auth: false,
      browserSession: true,
    })
    this.setTokens(answer.access_token, answer.refresh_token ?? null)
    return answer
  }

  /**
   * A reload or a new tab: get an access token from the browser session's cookie. False when
   * there is no live session (then the sign-in page shows).
   */
  async resume(): Promise<boolean> {
    if (this.tokens) return true
    if (!csrfToken()) return false
    try {
      await this.doRefresh()
      return true
    } catch {
      return false
    }
  }

  /** End the session on the server (best effort) and always locally. */
  async logout(): Promise<void> {
    try {
      if (this.tokens) await this.request<undefined>('POST', '/auth/logout')
    } catch {
      // The local session ends either way; a dead server session is already what we want.
    } finally {
      this.endSession()
    }
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true
    const usedToken = auth ? this.tokens?.access : undefined
    let resp = await this.send(method, path, options, usedToken)
    if (resp.status === 401 && auth) {
      await this.refreshAfter401(usedToken)
      resp = await this.send(method, path, options, this.tokens?.access)
      if (resp.status === 401) {
        // Fresh tokens refused too: the account was disabled or the session revoked.
        const error = await errorFromResponse(resp)
        this.endSession()
        throw error
      }
    }
    if (!resp.ok) throw await errorFromResponse(resp)
    return (await readBody(resp)) as T
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    token: string | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' }
    let body: string | undefined
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(options.body)
    }
    if (token) headers.Authorization = `Bearer ${token}`
    if (options.browserSession) headers[SESSION_HEADER] = 'cookie'
    try {
      return await this.fetchImpl(`${this.baseUrl}${path}${buildQuery(options.query)}`, {
        method,
        headers,
        body,
        signal: options.signal,
        credentials: 'same-origin',
        cache: 'no-store',
      })
    } catch (exc) {
      if (exc instanceof DOMException && exc.name === 'AbortError') throw exc
      throw new ApiError(0, NETWORK_ERROR, 'Cannot reach the server. Check the connection and try again.')
    }
  }

  /**
   * Refresh once for every request that hit 401 with the same access token. Why single-flight:
   * refresh tokens rotate, and presenting a spent one revokes the whole session family.
   */
  private async refreshAfter401(usedToken: string | undefined): Promise<void> {
    if (this.tokens && usedToken !== this.tokens.access) return // someone already refreshed
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null
      })
    }
    await this.refreshing
  }

  private async doRefresh(): Promise<void> {
    // Tabs share one cookie and refresh tokens rotate: two tabs refreshing at once would present
    // the same token twice, which the server treats as theft. The Web Locks API makes them queue.
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
    if (this.tokens?.refresh || !locks) return this.refreshNow()
    return locks.request('nexavpn-refresh', () => this.refreshNow())
  }

  private async refreshNow(): Promise<void> {
    const refresh = this.tokens?.refresh
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (refresh) headers.Authorization = `Bearer ${refresh}`
    else {
      const csrf = csrfToken()
      if (!csrf) {
        this.endSession()
        throw new ApiError(401, SESSION_ENDED, 'Your session has ended. Please sign in again.')
      }
      headers[CSRF_HEADER] = csrf
    }
    const resp = await this.fetchImpl(`${this.baseUrl}/auth/refresh`, {
      method: 'POST',
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
    }).catch(() => {
      throw new ApiError(0, NETWORK_ERROR, 'Cannot reach the server. Check the connection and try again.')
    })
    if (!resp.ok) {
      this.endSession()
      throw new ApiError(401, SESSION_ENDED, 'Your session has ended. Please sign in again.')
    }
    const answer = (await readBody(resp)) as RefreshResponse
    this.setTokens(answer.access_token, answer.refresh_token ?? null)
  }
}
