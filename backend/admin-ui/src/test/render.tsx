import { render } from '@testing-library/react'
import { MemoryRouter } from 'react-router-dom'
import { ApiClient } from '../api/client'
import { AppRoutes } from '../App'
import { AuthProvider } from '../auth'
import { fakeServer } from './fakeServer'
import type { Handler } from './fakeServer'

export const ADMIN = { id: 1, username: 'admin', role: 'admin' as const }

/** Render the whole app at `path` against fake routes; signed in unless told otherwise. */
export function renderApp(path: string, routes: Record<string, Handler>, signedIn = true) {
  const server = fakeServer(routes)
  const client = new ApiClient({ fetchImpl: server.fetchImpl })
  if (signedIn) client.setTokens('access-1', 'refresh-1')
  const utils = render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider client={client} initialUser={signedIn ? ADMIN : null}>
        <AppRoutes />
      </AuthProvider>
    </MemoryRouter>,
  )
  return { ...utils, server, client }
}
