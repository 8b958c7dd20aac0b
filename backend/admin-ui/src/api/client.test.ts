import { describe, expect, it, vi } from 'vitest'
import { ApiClient, ApiError, NETWORK_ERROR, SESSION_ENDED, buildQuery, fieldMessages } from './client'
import { createApi } from './endpoints'
import { apiError, fakeServer, json } from '../test/fakeServer'

function signedInClient(routes: Parameters<typeof fakeServer>[0]) {
  const server = fakeServer(routes)
  const client = new ApiClient({ fetchImpl: server.fetchImpl })
  client.setTokens('access-1', 'refresh-1')
  return { client, server, api: createApi(client) }
}

describe('ApiClient', () => {
  it('sends the bearer token and parses JSON', async () => {
    const { api, server } = signedInClient({ 'GET /auth/me': () => json(200, { id: 1, username: 'a', role: 'admin' }) })
    await expect(api.me()).resolves.toEqual({ id: 1, username: 'a', role: 'admin' })
    expect(server.requests[0]?.headers.authorization).toBe('Bearer access-1')
  })

  it('refreshes once on 401 with the refresh token, then retries with the new access token', async () => {
    let calls = 0
    const { api, server, client } = signedInClient({
      'GET /dashboard': (req) =>
        req.headers.authorization === 'Bearer access-2'
          ? json(200, { ok: true })
          : apiError(401, 'token_expired', 'expired'),
      'POST /auth/refresh': () => {
        calls += 1
        return json(200, { access_token: 'access-2', refresh_token: 'refresh-2' })
      },
    })
    await expect(api.dashboard()).resolves.toEqual({ ok: true })
    expect(calls).toBe(1)
    const refresh = server.requests.find((r) => r.path === '/auth/refresh')
    expect(refresh?.headers.authorization).toBe('Bearer refresh-1')
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /dashboard',
      'POST /auth/refresh',
      'GET /dashboard',
    ])
    expect(client.signedIn).toBe(true)
  })

  it('refreshes only once for concurrent 401s (a spent refresh token would end the session)', async () => {
    let refreshes = 0
    const ok = (req: { headers: Record<string, string> }) =>
      req.headers.authorization === 'Bearer access-2' ? json(200, { items: [], page: 1, per_page: 50, total: 0 }) : apiError(401, 'token_expired', 'x')
    const { api } = signedInClient({
      'GET /users': ok,
      'GET /devices': ok,
      'GET /gateways': ok,
      'POST /auth/refresh': async () => {
        refreshes += 1
        await new Promise((r) => setTimeout(r, 10))
        return json(200, { access_token: 'access-2', refresh_token: 'refresh-2' })
      },
    })
    await Promise.all([api.listUsers(), api.listDevices(), api.listGateways()])
    expect(refreshes).toBe(1)
  })

  it('signs out when the refresh is refused, without retrying', async () => {
    const { api, server, client } = signedInClient({
      'GET /dashboard': () => apiError(401, 'token_expired', 'expired'),
      'POST /auth/refresh': () => apiError(401, 'token_revoked', 'revoked'),
    })
    const onSignOut = vi.fn()
    client.onSignOut(onSignOut)
    const err = await api.dashboard().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).code).toBe(SESSION_ENDED)
    expect(onSignOut).toHaveBeenCalledTimes(1)
    expect(client.signedIn).toBe(false)
    expect(server.requests.filter((r) => r.path === '/dashboard')).toHaveLength(1)
  })

  it('signs out when the retried request is refused again, and does not refresh twice', async () => {
    let refreshes = 0
    const { api, client } = signedInClient({
      'GET /dashboard': () => apiError(401, 'unauthorized', 'account disabled'),
      'POST /auth/refresh': () => {
        refreshes += 1
        return json(200, { access_token: 'access-2', refresh_token: 'refresh-2' })
      },
    })
    const onSignOut = vi.fn()
    client.onSignOut(onSignOut)
    await expect(api.dashboard()).rejects.toMatchObject({ status: 401, message: 'account disabled' })
    expect(refreshes).toBe(1)
    expect(onSignOut).toHaveBeenCalledTimes(1)
  })

  it('turns the error envelope into a typed ApiError with field messages', async () => {
    const { api } = signedInClient({
      'POST /users': () =>
        apiError(400, 'validation_error', 'The request is invalid.', { username: ['Already taken.'], email: 'Not an email.' }),
    })
    const err = (await api.createUser({ username: 'x', password: 'y' }).catch((e: unknown) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(400)
    expect(err.code).toBe('validation_error')
    expect(err.message).toBe('The request is invalid.')
    expect(err.fieldErrors).toEqual({ username: 'Already taken.', email: 'Not an email.' })
  })

  it('does not refresh on a failed login (bad credentials are not an expired session)', async () => {
    const server = fakeServer({ 'POST /auth/login': () => apiError(401, 'invalid_credentials', 'Invalid username or password.') })
    const client = new ApiClient({ fetchImpl: server.fetchImpl })
    await expect(client.login('a', 'b')).rejects.toMatchObject({ code: 'invalid_credentials', message: 'Invalid username or password.' })
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]?.headers.authorization).toBeUndefined()
    expect(client.signedIn).toBe(false)
  })

  it('keeps tokens after login and ends them on logout', async () => {
    const server = fakeServer({
      'POST /auth/login': () =>
        json(200, { access_token: 'A', refresh_token: 'R', token_type: 'Bearer', expires_in: 900, user: { id: 1, username: 'a', role: 'admin' } }),
      'POST /auth/logout': () => new Response(null, { status: 204 }),
    })
    const client = new ApiClient({ fetchImpl: server.fetchImpl })
    await client.login('a', 'pw')
    expect(client.signedIn).toBe(true)
    await client.logout()
    expect(server.requests[1]?.headers.authorization).toBe('Bearer A')
    expect(client.signedIn).toBe(false)
    expect(window.localStorage.length).toBe(0)
    expect(window.sessionStorage.length).toBe(0)
  })

  it('maps a non-JSON error page (proxy 502) and a network failure to ApiErrors', async () => {
    const { api } = signedInClient({ 'GET /dashboard': () => new Response('<html>bad gateway</html>', { status: 502 }) })
    await expect(api.dashboard()).rejects.toMatchObject({ status: 502, code: 'http_502' })
    const client = new ApiClient({ fetchImpl: () => Promise.reject(new TypeError('Failed to fetch')) })
    await expect(createApi(client).dashboard()).rejects.toMatchObject({ code: NETWORK_ERROR, status: 0 })
  })

  it('returns undefined for 204 and sends JSON bodies', async () => {
    const { api, server } = signedInClient({
      'DELETE /users/7': () => new Response(null, { status: 204 }),
      'POST /devices/3/revoke': () => json(200, { id: 3, status: 'revoked' }),
    })
    await expect(api.deleteUser(7)).resolves.toBeUndefined()
    await api.revokeDevice(3, true)
    expect(server.requests[1]?.body).toEqual({ revoke_sessions: true })
    expect(server.requests[1]?.headers['content-type']).toBe('application/json')
  })
})

describe('helpers', () => {
  it('buildQuery drops empty values and encodes the rest', () => {
    expect(buildQuery({ page: 2, q: '', user_id: undefined, action: 'a b&c' })).toBe('?page=2&action=a+b%26c')
    expect(buildQuery({})).toBe('')
  })

  it('fieldMessages reads every details shape', () => {
    expect(fieldMessages({ name: ['Too long.'], _schema: ['x'] })).toEqual({ name: 'Too long.' })
    expect(fieldMessages({ destinations: { '1': ['host bits are set'] } })).toEqual({
      destinations: 'Entry 2: host bits are set',
    })
    expect(fieldMessages({ field: 'endpoint' }, 'endpoint: bad')).toEqual({ endpoint: 'endpoint: bad' })
    expect(fieldMessages({ fields: { mtu: 'too big' } })).toEqual({ mtu: 'too big' })
    expect(fieldMessages(null)).toEqual({})
    expect(fieldMessages(['x'])).toEqual({})
  })
})
