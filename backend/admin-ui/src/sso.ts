// Single sign-on from the admin UI: the authorization code flow with PKCE. The verifier and
// state stay in this tab's sessionStorage until the server sends the browser back to
// /auth/callback, which exchanges the one-time code with the verifier.

const KEY = 'nexavpn.sso'
export const CALLBACK_PATH = '/auth/callback'

export interface PendingSso {
  provider: string
  state: string
  verifier: string
  /** Where the admin was going (a deep link survives the sign-in). */
  from: string
}

function randomToken(bytes = 32): string {
  const buf = new Uint8Array(bytes)
  crypto.getRandomValues(buf)
  return base64url(buf)
}

function base64url(buf: Uint8Array): string {
  let text = ''
  for (const b of buf) text += String.fromCharCode(b)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** The S256 PKCE challenge of a verifier (RFC 7636). */
export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  return base64url(new Uint8Array(digest))
}

/** Remember a new sign-in attempt and answer the URL that starts it at the server. */
export async function prepareSso(provider: string, from: string, origin = window.location.origin): Promise<string> {
  const pending: PendingSso = { provider, state: randomToken(16), verifier: randomToken(48), from }
  sessionStorage.setItem(KEY, JSON.stringify(pending))
  const params = new URLSearchParams({
    redirect_uri: origin + CALLBACK_PATH,
    state: pending.state,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
  })
  return `/api/v1/auth/oidc/${encodeURIComponent(provider)}/start?${params.toString()}`
}

/** The attempt this callback belongs to (spent: a reload of the callback cannot replay it). */
export function takePendingSso(): PendingSso | null {
  const raw = sessionStorage.getItem(KEY)
  sessionStorage.removeItem(KEY)
  if (!raw) return null
  try {
    return JSON.parse(raw) as PendingSso
  } catch {
    return null
  }
}

const SSO_ERRORS: Record<string, string> = {
  user_disabled: 'This account is disabled.',
  access_denied: 'The identity provider did not sign you in.',
  invalid_id_token: 'The identity provider’s answer could not be verified. Ask your administrator.',
  identity_provider_unavailable: 'The identity provider is not reachable; try again later.',
}

export function ssoErrorMessage(code: string): string {
  return SSO_ERRORS[code] ?? `Single sign-on failed (${code}).`
}
