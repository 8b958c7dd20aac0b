// The signed-in session: who is signed in, the typed API, sign-in and sign-out.
// Why a context: every page needs the same client, and a session that ends by itself (refresh
// refused) must send every page back to sign-in.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react'
import type { ReactNode } from 'react'
import { ApiClient, ApiError } from './api/client'
import { createApi } from './api/endpoints'
import type { Api } from './api/endpoints'
import type { SessionUser } from './api/types'

export interface Auth {
  user: SessionUser | null
  api: Api
  client: ApiClient
  /** Why the last session ended, when it ended by itself (shown on the sign-in page). */
  notice: string | null
  signIn: (username: string, password: string) => Promise<void>
  signOut: () => Promise<void>
}

const AuthContext = createContext<Auth | null>(null)

export const NOT_ADMIN = 'not_admin'

interface ProviderProps {
  client?: ApiClient
  /** Tests start signed in with a client whose tokens they set; the app always starts signed out. */
  initialUser?: SessionUser | null
  children: ReactNode
}

export function AuthProvider({ client: given, initialUser = null, children }: ProviderProps) {
  const [client] = useState(() => given ?? new ApiClient())
  const api = useMemo(() => createApi(client), [client])
  const [user, setUser] = useState<SessionUser | null>(initialUser)
  const [notice, setNotice] = useState<string | null>(null)
  // True while the admin signs out on purpose: then the sign-in page shows no "session ended".
  const leaving = useRef(false)

  useEffect(
    () =>
      client.onSignOut(() => {
        if (!leaving.current) setNotice('Your session has ended. Please sign in again.')
        setUser(null)
      }),
    [client],
  )

  const signIn = useCallback(
    async (username: string, password: string) => {
      const answer = await client.login(username, password)
      if (answer.user.role !== 'admin') {
        leaving.current = true
        await client.logout()
        leaving.current = false
        throw new ApiError(403, NOT_ADMIN, 'This console is for administrators only.')
      }
      setNotice(null)
      setUser(answer.user)
    },
    [client],
  )

  const signOut = useCallback(async () => {
    leaving.current = true
    setNotice(null)
    try {
      await client.logout()
    } finally {
      leaving.current = false
      setUser(null)
    }
  }, [client])

  const value = useMemo<Auth>(
    () => ({ user, api, client, notice, signIn, signOut }),
    [user, api, client, notice, signIn, signOut],
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
