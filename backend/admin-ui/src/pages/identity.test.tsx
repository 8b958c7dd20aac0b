import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiClient } from '../api/client'
import type { User } from '../api/types'
import { challengeOf } from '../sso'
import { apiError, fakeServer, json, page } from '../test/fakeServer'
import { renderApp } from '../test/render'

const ROOT = { id: 1, username: 'root', role: 'admin' }
const session = (extra: Record<string, unknown> = {}) =>
  json(200, { access_token: 'A', token_type: 'Bearer', expires_in: 900, user: ROOT, ...extra })
const noProviders = () => json(200, { password: true, oidc: [] })

afterEach(() => {
  sessionStorage.clear()
  vi.restoreAllMocks()
})

describe('two-factor sign-in', () => {
  it('asks for the code after a right password and signs in with it', async () => {
    const user = userEvent.setup()
    const { server } = renderApp(
      '/gateways',
      {
        'GET /auth/providers': noProviders,
        'POST /auth/login': () => json(200, { mfa_required: true, mfa_token: 'MFA', methods: ['totp'] }),
        'POST /auth/mfa/verify': (req) =>
          (req.body as { code: string }).code === '123456' ? session() : apiError(401, 'invalid_code', 'The two-factor code is not right.'),
        'GET /gateways': () => json(200, page([])),
      },
      false,
    )
    await user.type(await screen.findByLabelText('Username'), 'root')
    await user.type(screen.getByLabelText('Password'), 'pw')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    const code = await screen.findByLabelText('Code')
    await user.type(code, '000000')
    await user.click(screen.getByRole('button', { name: 'Verify' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('not right')
    await user.type(screen.getByLabelText('Code'), '123456')
    await user.click(screen.getByRole('button', { name: 'Verify' }))
    expect(await screen.findByRole('heading', { name: 'Gateways' })).toBeInTheDocument()
    const login = server.requests.find((r) => r.path === '/auth/login')
    expect(login?.headers['x-nexavpn-session']).toBe('cookie')
    const verify = server.requests.filter((r) => r.path === '/auth/mfa/verify')
    expect(verify.map((r) => r.body)).toEqual([
      { mfa_token: 'MFA', code: '000000' },
      { mfa_token: 'MFA', code: '123456' },
    ])
  })

  it('sends an admin who must set up two-factor to the setup page', async () => {
    const user = userEvent.setup()
    renderApp(
      '/users',
      {
        'GET /auth/providers': noProviders,
        'POST /auth/login': () => session({ mfa_setup_required: true }),
        'GET /auth/me': () => json(200, { ...ROOT, totp_enabled: false }),
      },
      false,
    )
    await user.type(await screen.findByLabelText('Username'), 'root')
    await user.type(screen.getByLabelText('Password'), 'pw')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('heading', { name: 'Two-factor sign-in' })).toBeInTheDocument()
    expect(screen.getByRole('status')).toHaveTextContent('requires two-factor')
  })
})

describe('single sign-on', () => {
  it('starts at the server with a PKCE challenge of a verifier kept in this tab', async () => {
    const user = userEvent.setup()
    const assign = vi.fn()
    vi.spyOn(window, 'location', 'get').mockReturnValue({ ...window.location, assign, origin: 'https://vpn.example.com' })
    renderApp('/devices', { 'GET /auth/providers': () => json(200, { password: true, oidc: [{ id: 'corp', name: 'Corp SSO' }] }) }, false)
    await user.click(await screen.findByRole('button', { name: 'Sign in with Corp SSO' }))
    await waitFor(() => expect(assign).toHaveBeenCalledTimes(1))
    const url = new URL(String(assign.mock.calls[0][0]), 'https://vpn.example.com')
    expect(url.pathname).toBe('/api/v1/auth/oidc/corp/start')
    expect(url.searchParams.get('redirect_uri')).toBe('https://vpn.example.com/auth/callback')
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    const pending = JSON.parse(sessionStorage.getItem('nexavpn.sso') ?? '{}') as { verifier: string; state: string; from: string }
    expect(url.searchParams.get('state')).toBe(pending.state)
    expect(url.searchParams.get('code_challenge')).toBe(await challengeOf(pending.verifier))
    expect(pending.from).toBe('/devices')
  })

  it('exchanges the code with the verifier and lands on the deep link', async () => {
    sessionStorage.setItem('nexavpn.sso', JSON.stringify({ provider: 'corp', state: 'S1', verifier: 'V'.repeat(64), from: '/gateways?page=2' }))
    const { server } = renderApp(
      '/auth/callback?code=C1&state=S1',
      { 'POST /auth/oidc/token': () => session(), 'GET /gateways': () => json(200, page([])) },
      false,
    )
    expect(await screen.findByRole('heading', { name: 'Gateways' })).toBeInTheDocument()
    const exchange = server.requests.find((r) => r.path === '/auth/oidc/token')
    expect(exchange?.body).toEqual({ code: 'C1', code_verifier: 'V'.repeat(64) })
    expect(sessionStorage.getItem('nexavpn.sso')).toBeNull()
  })

  it('refuses a callback whose state is not this tab’s and shows the provider error', async () => {
    sessionStorage.setItem('nexavpn.sso', JSON.stringify({ provider: 'corp', state: 'S1', verifier: 'V'.repeat(64), from: '/' }))
    const { server } = renderApp('/auth/callback?code=C1&state=EVIL', { 'GET /auth/providers': noProviders }, false)
    expect(await screen.findByRole('alert')).toHaveTextContent('did not start in this tab')
    expect(server.requests.some((r) => r.path === '/auth/oidc/token')).toBe(false)
  })

  it('shows why the provider refused', async () => {
    sessionStorage.setItem('nexavpn.sso', JSON.stringify({ provider: 'corp', state: 'S2', verifier: 'V'.repeat(64), from: '/' }))
    renderApp('/auth/callback?error=user_disabled&state=S2', { 'GET /auth/providers': noProviders }, false)
    expect(await screen.findByRole('alert')).toHaveTextContent('This account is disabled.')
  })
})

describe('two-factor setup page', () => {
  it('shows the QR code, confirms with a code and shows the recovery codes once', async () => {
    const user = userEvent.setup()
    const codes = Array.from({ length: 10 }, (_, i) => `aaaa-bbbb-000${i}`)
    const { server } = renderApp('/account/two-factor', {
      'GET /auth/me': () => json(200, { ...ROOT, totp_enabled: false }),
      'POST /auth/mfa/totp': () =>
        json(200, { secret: 'JBSWY3DPEHPK3PXP', otpauth_uri: 'otpauth://totp/NexaVPN:root?secret=JBSWY3DPEHPK3PXP', qr_svg: 'data:image/svg+xml,%3Csvg%3E%3C/svg%3E' }),
      'POST /auth/mfa/totp/confirm': () => json(200, { recovery_codes: codes }),
    })
    await user.click(await screen.findByRole('button', { name: 'Set up two-factor' }))
    expect(await screen.findByRole('img', { name: /QR code/ })).toHaveAttribute('src', expect.stringMatching(/^data:image\/svg\+xml/))
    expect(screen.getByTestId('totp-secret')).toHaveTextContent('JBSWY3DPEHPK3PXP')
    await user.type(screen.getByLabelText('Code from the app'), '654321')
    await user.click(screen.getByRole('button', { name: 'Turn on two-factor' }))
    const list = await screen.findByRole('list', { name: 'Recovery codes' })
    expect(within(list).getAllByRole('listitem')).toHaveLength(10)
    expect(server.requests.find((r) => r.path === '/auth/mfa/totp/confirm')?.body).toEqual({ code: '654321' })
  })
})

describe('users page', () => {
  it('shows sign-in method and two-factor, and resets two-factor after confirmation', async () => {
    const user = userEvent.setup()
    const sso: User = {
      id: 3, username: 'sam', email: null, role: 'user', groups: ['eng'], disabled: false,
      created_at: '2026-01-02T03:04:05Z', sign_in_method: 'oidc', sso_provider: 'corp', totp_enabled: false,
    }
    const tina: User = { ...sso, id: 4, username: 'tina', sign_in_method: 'password', sso_provider: null, totp_enabled: true }
    const { server } = renderApp('/users', {
      'GET /users': () => json(200, page([sso, tina])),
      'DELETE /users/4/mfa': () => new Response(null, { status: 204 }),
    })
    const samRow = (await screen.findByText('sam')).closest('tr') as HTMLElement
    expect(samRow).toHaveTextContent('SSO (corp)')
    expect(within(samRow).queryByRole('button', { name: 'Reset two-factor' })).toBeNull()
    const tinaRow = screen.getByText('tina').closest('tr') as HTMLElement
    expect(tinaRow).toHaveTextContent('Password')
    expect(tinaRow).toHaveTextContent('2FA')
    expect(samRow).not.toHaveTextContent('2FA')
    await user.click(within(tinaRow).getByRole('button', { name: 'Reset two-factor' }))
    const dialog = await screen.findByRole('dialog')
    expect(server.requests.some((r) => r.method === 'DELETE')).toBe(false)
    await user.click(within(dialog).getByRole('button', { name: 'Reset two-factor' }))
    await waitFor(() => expect(server.requests.some((r) => r.method === 'DELETE' && r.path === '/users/4/mfa')).toBe(true))
  })
})

describe('browser session', () => {
  it('resumes from the refresh cookie with the CSRF header and no bearer token', async () => {
    document.cookie = 'nexavpn_csrf=csrf-value; path=/'
    const server = fakeServer({ 'POST /auth/refresh': () => json(200, { access_token: 'A2' }) })
    const client = new ApiClient({ fetchImpl: server.fetchImpl })
    expect(await client.resume()).toBe(true)
    const refresh = server.requests[0]
    expect(refresh.headers['x-csrf-token']).toBe('csrf-value')
    expect(refresh.headers.authorization).toBeUndefined()
    expect(client.signedIn).toBe(true)
    document.cookie = 'nexavpn_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/'
  })

  it('does not call the server without a session cookie', async () => {
    const server = fakeServer({})
    const client = new ApiClient({ fetchImpl: server.fetchImpl })
    expect(await client.resume()).toBe(false)
    expect(server.requests).toHaveLength(0)
  })
})
