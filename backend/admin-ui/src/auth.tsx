// The signed-in session: who is signed in, the typed API, sign-in (password, TOTP, single
// sign-on) and sign-out. Why a context: every page needs the same client, and a session that
// ends by itself (refresh refused) must send every page back to sign-in.
// A reload or a new tab resumes the browser session from its HttpOnly refresh cookie.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react'
import type { ReactNode } from 'react'
import { ApiClient, ApiError, isChallenge } from './api/client'
import { createApi } from './api/endpoints'
import type { Api } from './api/endpoints'
import type { LoginResponse, SessionUser } from './api/types'

/** What a right password led to: signed in, or a TOTP code is still needed. */
export type SignInResult = { mfaToken: string } | null

export interface Auth {
  user: SessionUser | null
  /** False while a reload checks for a live browser session (pages wait instead of redirecting). */
  ready: boolean
  /** The server requires this admin to set up two-factor before anything else. */
  mfaSetupRequired: boolean
  api: Api
  client: ApiClient
  /** Why the last session ended, when it ended by itself (shown on the sign-in page). */
  notice: string | null
  signIn: (username: string, password: string) => Promise<SignInResult>
  verifyMfa: (mfaToken: string, code: string) => Promise<void>
  finishSso: (code: string, verifier: string) => Promise<void>
  mfaSetupDone: () => void
  signOut: () => Promise<void>
}

const AuthContext = createContext<Auth | null>(null)

export const NOT_ADMIN = 'not_admin'

interface ProviderProps {
  client?: ApiClient
  /** Tests start signed in with a client whose tokens they set. */
  initialUser?: SessionUser | null
  children: ReactNode
}

export function AuthProvider({ client: given, initialUser = null, children }: ProviderProps) {
  const [client] = useState(() => given ?? new ApiClient())
  const api = useMemo(() => createApi(client), [client])
  const [user, setUser] = useState<SessionUser | null>(initialUser)
  const [ready, setReady] = useState(initialUser !== null || given !== undefined)
  const [mfaSetupRequired, setMfaSetupRequired] = useState(false)
  const [notice, setNotice] = useState<string | null>(null)
  // True while the admin signs out on purpose: then the sign-in page shows no "session ended".
  const leaving = useRef(false)

  useEffect(
    () =>
      client.onSignOut(() => {
        if (!leaving.current) setNotice('Your session has ended. Please sign in again.')
        setUser(null)
        setMfaSetupRequired(false)
      }),
    [client],
  )

  // A reload or a new tab: resume from the refresh cookie (the app's own client only).
  useEffect(() => {
    if (given !== undefined || initialUser !== null) return
    let live = true
    void (async () => {
      try {
        if (await client.resume()) {
          const me = await api.me()
          if (live && me.role === 'admin') setUser({ id: me.id, username: me.username, role: me.role })
        }
      } catch {
        // No live session: the sign-in page shows.
      } finally {
        if (live) setReady(true)
      }
    })()
    return () => {
      live = false
    }
  }, [client, api, given, initialUser])

  const accept = useCallback(
    async (answer: LoginResponse) => {
      if (answer.user.role !== 'admin') {
        leaving.current = true
        await client.logout()
        leaving.current = false
        throw new ApiError(403, NOT_ADMIN, 'This console is for administrators only.')
      }
      setNotice(null)
      setMfaSetupRequired(answer.mfa_setup_required === true)
      setUser(answer.user)
    },
    [client],
  )

  const signIn = useCallback(
    async (username: string, password: string): Promise<SignInResult> => {
      const answer = await client.login(username, password)
      if (isChallenge(answer)) return { mfaToken: answer.mfa_token }
      await accept(answer)
      return null
    },
    [client, accept],
  )

  const verifyMfa = useCallback(
    async (mfaToken: string, code: string) => {
      await accept(await client.verifyMfa(mfaToken, code))
    },
    [client, accept],
  )

  const finishSso = useCallback(
    async (code: string, verifier: string) => {
      await accept(await client.exchangeSsoCode(code, verifier))
    },
    [client, accept],
  )

  const mfaSetupDone = useCallback(() => setMfaSetupRequired(false), [])

  const signOut = useCallback(async () => {
    leaving.current = true
    setNotice(null)
    try {
      await client.logout()
    } finally {
      leaving.current = false
      setUser(null)
      setMfaSetupRequired(false)
    }
  }, [client])

  const value = useMemo<Auth>(
    () => ({
      user,
      ready,
      mfaSetupRequired,
      api,
      client,
      notice,
      signIn,
      verifyMfa,
      finishSso,
      mfaSetupDone,
      signOut,
    }),
    [user, ready, mfaSetupRequired, api, client, notice, signIn, verifyMfa, finishSso, mfaSetupDone, signOut],
  )
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext)
  if (!auth) throw new Error('useAuth outside AuthProvider')
  return auth
}

export function useApi(): Api {
  return useAuth().api
}
