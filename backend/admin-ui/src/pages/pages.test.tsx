import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import type { AuditLog, Device, Gateway, Policy, User } from '../api/types'
import { apiError, json, page } from '../test/fakeServer'
import { renderApp } from '../test/render'

const alice: User = {
  id: 2,
  username: 'alice',
  email: 'alice@example.com',
  role: 'user',
  groups: ['eng'],
  disabled: false,
  created_at: '2026-01-02T03:04:05Z',
}
const gw: Gateway = {
  id: 5,
  name: 'gw-1',
  endpoint: 'vpn.example.com:51820',
  public_key: null,
  vpn_cidr: '10.8.0.0/24',
  vpn_cidr6: null,
  dns: [],
  mtu: 1420,
  enabled: true,
  status: 'offline',
  last_seen_at: null,
  listen_port: null,
  peer_count: 0,
  created_at: '2026-01-02T03:04:05Z',
}
const laptop: Device = {
  id: 9,
  user_id: 2,
  name: 'alice-laptop',
  fingerprint: 'f'.repeat(64),
  public_key: 'k'.repeat(43) + '=',
  platform: 'linux',
  status: 'active',
  vpn_ip: '10.8.0.2',
  vpn_ip6: null,
  gateway_id: 5,
  profile_revision: 3,
  rotation_required: false,
  created_at: '2026-01-02T03:04:05Z',
  last_sync_at: '2026-01-02T04:00:00Z',
  last_handshake_at: null,
  online: false,
  os_version: null,
  client_version: null,
  revoked_at: null,
  rx_bytes: 0,
  tx_bytes: 0,
  username: 'alice',
}
const lookups = {
  'GET /users': () => json(200, page([alice])),
  'GET /gateways': () => json(200, page([gw])),
}

describe('sign-in', () => {
  it('shows the server message for a wrong password and stays on the page', async () => {
    const user = userEvent.setup()
    renderApp('/', { 'POST /auth/login': () => apiError(401, 'invalid_credentials', 'Invalid username or password.') }, false)
    await user.type(await screen.findByLabelText('Username'), 'admin')
    await user.type(screen.getByLabelText('Password'), 'wrong')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Invalid username or password.')
    expect(screen.getByLabelText('Password')).toHaveValue('')
  })

  it('signs in and lands on the page asked for', async () => {
    const user = userEvent.setup()
    const { server } = renderApp(
      '/gateways',
      {
        'POST /auth/login': () =>
          json(200, { access_token: 'A', refresh_token: 'R', token_type: 'Bearer', expires_in: 900, user: { id: 1, username: 'root', role: 'admin' } }),
        ...lookups,
      },
      false,
    )
    await user.type(await screen.findByLabelText('Username'), 'root')
    await user.type(screen.getByLabelText('Password'), 'pw')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('heading', { name: 'Gateways' })).toBeInTheDocument()
    expect(await screen.findByText('gw-1')).toBeInTheDocument()
    expect(server.requests.find((r) => r.path === '/gateways')?.headers.authorization).toBe('Bearer A')
  })

  it('refuses a non-admin and ends that session', async () => {
    const user = userEvent.setup()
    const { server } = renderApp(
      '/',
      {
        'POST /auth/login': () =>
          json(200, { access_token: 'A', refresh_token: 'R', token_type: 'Bearer', expires_in: 900, user: { id: 2, username: 'alice', role: 'user' } }),
        'POST /auth/logout': () => new Response(null, { status: 204 }),
      },
      false,
    )
    await user.type(await screen.findByLabelText('Username'), 'alice')
    await user.type(screen.getByLabelText('Password'), 'pw')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('administrators only')
    expect(server.requests.map((r) => r.path)).toContain('/auth/logout')
  })

  it('returns to sign-in with a notice when the session cannot be refreshed', async () => {
    renderApp('/', {
      'GET /dashboard': () => apiError(401, 'token_expired', 'expired'),
      'GET /users': () => apiError(401, 'token_expired', 'expired'),
      'GET /gateways': () => apiError(401, 'token_expired', 'expired'),
      'POST /auth/refresh': () => apiError(401, 'token_revoked', 'revoked'),
    })
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeInTheDocument()
    expect(screen.getByRole('status')).toHaveTextContent('Your session has ended')
  })
})

describe('dashboard', () => {
  it('shows counts, recent enrollments and audit events', async () => {
    const audit: AuditLog = {
      id: 1, at: '2026-01-02T03:04:05Z', actor_type: 'user', actor_id: '1', action: 'device.enroll',
      target_type: 'device', target_id: '9', ip: '127.0.0.1', details: {},
    }
    renderApp('/', {
      ...lookups,
      'GET /dashboard': () =>
        json(200, { users: 4, devices: { active: 3, revoked: 1 }, gateways: { online: 1, offline: 2 }, recent_enrollments: [laptop], recent_audit: [audit] }),
    })
    expect(await screen.findByTestId('stat-users')).toHaveTextContent('4')
    expect(screen.getByTestId('stat-devices-active')).toHaveTextContent('3')
    expect(screen.getByTestId('stat-gateways-offline')).toHaveTextContent('2')
    expect(screen.getByRole('link', { name: 'alice-laptop' })).toHaveAttribute('href', '/devices/9')
    expect(screen.getByText('device.enroll')).toBeInTheDocument()
    expect(await screen.findByText('gw-1')).toBeInTheDocument()
  })

  it('shows the API error in the page', async () => {
    renderApp('/', { ...lookups, 'GET /dashboard': () => apiError(503, 'service_unavailable', 'Database is down.') })
    expect(await screen.findByRole('alert')).toHaveTextContent('Database is down.')
  })
})

describe('users', () => {
  it('shows the server field error next to the field it names', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/users', {
      ...lookups,
      'POST /users': () => apiError(409, 'conflict', 'That username is taken.', { username: ['Username already exists.'] }),
    })
    await user.click(await screen.findByRole('button', { name: 'New user' }))
    const dialog = screen.getByRole('dialog')
    await user.type(within(dialog).getByLabelText('Username'), 'alice')
    await user.type(within(dialog).getByLabelText('Password'), 'secret-pw-1')
    await user.type(within(dialog).getByLabelText(/Groups/), 'eng, ops')
    await user.click(within(dialog).getByRole('button', { name: 'Create user' }))
    const field = await within(dialog).findByText('Username already exists.')
    expect(field).toHaveClass('field-error')
    expect(within(dialog).getByLabelText('Username')).toHaveAccessibleDescription('Username already exists.')
    expect(within(dialog).getAllByRole('alert')[0]).toHaveTextContent('That username is taken.')
    expect(server.requests.find((r) => r.method === 'POST')?.body).toEqual({
      username: 'alice', password: 'secret-pw-1', email: null, role: 'user', groups: ['eng', 'ops'],
    })
  })

  it('searches, paginates and shows an empty state', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/users', {
      'GET /users': (req) =>
        req.query.get('q') === 'nobody' ? json(200, page([], 0)) : json(200, page([alice], 60, Number(req.query.get('page') ?? 1), 25)),
    })
    expect(await screen.findByText('alice')).toBeInTheDocument()
    expect(screen.getByText(/1–25 of 60/)).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: /Next/ }))
    await waitFor(() => expect(server.requests.some((r) => r.path === '/users' && r.query.get('page') === '2')).toBe(true))
    await user.type(screen.getByLabelText('Search users'), 'nobody')
    await user.click(screen.getByRole('button', { name: 'Search' }))
    expect(await screen.findByText('No user matches this search.')).toBeInTheDocument()
  })

  it('deletes only after confirmation', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/users', { ...lookups, 'DELETE /users/2': () => new Response(null, { status: 204 }) })
    await user.click(await screen.findByRole('button', { name: 'Delete' }))
    expect(server.requests.some((r) => r.method === 'DELETE')).toBe(false)
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete user' }))
    await waitFor(() => expect(server.requests.some((r) => r.method === 'DELETE' && r.path === '/users/2')).toBe(true))
  })
})

describe('devices', () => {
  it('filters by status through the API', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/devices', { ...lookups, 'GET /devices': () => json(200, page([laptop])) })
    expect(await screen.findByText('10.8.0.2')).toBeInTheDocument()
    await user.selectOptions(screen.getByRole('combobox', { name: 'Status' }), 'revoked')
    await waitFor(() => expect(server.requests.at(-1)?.query.get('status')).toBe('revoked'))
  })

  it('revokes after confirmation and shows the new status', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/devices/9', {
      ...lookups,
      'GET /devices/9': () => json(200, laptop),
      'POST /devices/9/revoke': () => json(200, { ...laptop, status: 'revoked' }),
    })
    expect(await screen.findByTestId('device-vpn-ip')).toHaveTextContent('10.8.0.2')
    expect(screen.getByText('3')).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Revoke' }))
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Revoke device' }))
    await waitFor(() => expect(screen.getByTestId('device-status')).toHaveTextContent('revoked'))
    expect(server.requests.find((r) => r.path === '/devices/9/revoke')?.body).toEqual({})
    expect(screen.queryByRole('button', { name: 'Revoke' })).not.toBeInTheDocument()
  })

  it('shows a not-found page for an unknown device', async () => {
    renderApp('/devices/404', { ...lookups, 'GET /devices/404': () => apiError(404, 'not_found', 'Device not found.') })
    expect(await screen.findByRole('heading', { name: 'Device not found' })).toBeInTheDocument()
  })
})

describe('policies', () => {
  it('rejects a CIDR with host bits before calling the API', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/policies', { ...lookups, 'GET /policies': () => json(200, page([])) })
    expect(await screen.findByText(/No policies yet/)).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'New policy' }))
    const dialog = screen.getByRole('dialog')
    await user.type(within(dialog).getByLabelText('Name'), 'office')
    await user.type(within(dialog).getByLabelText('Destinations'), '10.20.0.0/24\n10.30.0.1/24')
    await user.click(within(dialog).getByRole('button', { name: 'Create policy' }))
    expect(await within(dialog).findByText(/Entry 2: host bits are set/)).toBeInTheDocument()
    expect(server.requests.some((r) => r.method === 'POST')).toBe(false)
  })

  it('creates a policy with users, groups and destinations', async () => {
    const user = userEvent.setup()
    const created: Policy = { id: 1, name: 'office', description: '', enabled: true, user_ids: [2], groups: ['eng'], destinations: ['10.20.0.0/24'] }
    let policies: Policy[] = []
    const { server } = renderApp('/policies', {
      ...lookups,
      'GET /policies': () => json(200, page(policies)),
      'POST /policies': () => {
        policies = [created]
        return json(201, created)
      },
    })
    await user.click(await screen.findByRole('button', { name: 'New policy' }))
    const dialog = screen.getByRole('dialog')
    await user.type(within(dialog).getByLabelText('Name'), 'office')
    await user.click(await within(dialog).findByRole('checkbox', { name: 'alice' }))
    await user.type(within(dialog).getByLabelText(/Groups/), 'eng')
    await user.type(within(dialog).getByLabelText('Destinations'), '10.20.0.0/24')
    await user.click(within(dialog).getByRole('button', { name: 'Create policy' }))
    expect(await screen.findByText('10.20.0.0/24')).toBeInTheDocument()
    expect(server.requests.find((r) => r.method === 'POST')?.body).toEqual({
      name: 'office', description: '', enabled: true, user_ids: [2], groups: ['eng'], destinations: ['10.20.0.0/24'],
    })
  })
})

describe('gateways', () => {
  it('shows the agent token once with copy buttons and the start command', async () => {
    const user = userEvent.setup()
    const writeText = vi.fn(() => Promise.resolve())
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    const { server } = renderApp('/gateways', {
      'GET /gateways': () => json(200, page([])),
      'POST /gateways': () => json(201, { ...gw, endpoint: 'vpn.example.com:51821', agent_token: 'tok-secret-123' }),
    })
    expect(await screen.findByText(/No gateways yet/)).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'New gateway' }))
    const dialog = screen.getByRole('dialog')
    await user.type(within(dialog).getByLabelText('Name'), 'gw-1')
    await user.type(within(dialog).getByLabelText(/Public endpoint/), 'vpn.example.com:51821')
    await user.click(within(dialog).getByRole('button', { name: 'Create gateway' }))
    expect(await screen.findByTestId('agent-token')).toHaveTextContent('tok-secret-123')
    expect(screen.getByTestId('agent-command')).toHaveTextContent(
      `nexavpn-gateway run --server ${window.location.origin} --token-file /etc/nexavpn/gateway.token --interface wg0 --listen-port 51821`,
    )
    await user.click(screen.getByRole('button', { name: 'Copy token' }))
    expect(writeText).toHaveBeenCalledWith('tok-secret-123')
    expect(await screen.findByRole('button', { name: 'Copied' })).toBeInTheDocument()
    expect(server.requests.find((r) => r.method === 'POST')?.body).toMatchObject({ name: 'gw-1', vpn_cidr: '10.8.0.0/24', vpn_cidr6: null, dns: [] })
    await user.click(screen.getByRole('button', { name: 'I have saved the token' }))
    expect(screen.queryByTestId('agent-token')).not.toBeInTheDocument()
  })

  it('shows a delete conflict in the dialog', async () => {
    const user = userEvent.setup()
    renderApp('/gateways', {
      'GET /gateways': () => json(200, page([gw])),
      'DELETE /gateways/5': () => apiError(409, 'gateway_in_use', 'Active devices still use this gateway.'),
    })
    await user.click(await screen.findByRole('button', { name: 'Delete' }))
    const dialog = screen.getByRole('dialog')
    await user.click(within(dialog).getByRole('button', { name: 'Delete gateway' }))
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('Active devices still use this gateway.')
  })

  it('validates the endpoint and shows server field errors for fields', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/gateways', {
      'GET /gateways': () => json(200, page([])),
      'POST /gateways': () => apiError(400, 'validation_error', 'The request is invalid.', { vpn_cidr: ['overlaps gateway gw-0'] }),
    })
    await user.click(await screen.findByRole('button', { name: 'New gateway' }))
    const dialog = screen.getByRole('dialog')
    await user.type(within(dialog).getByLabelText('Name'), 'gw-2')
    await user.type(within(dialog).getByLabelText(/Public endpoint/), 'no-port')
    await user.click(within(dialog).getByRole('button', { name: 'Create gateway' }))
    expect(await within(dialog).findByText(/Endpoint must be host:port/)).toBeInTheDocument()
    expect(server.requests.some((r) => r.method === 'POST')).toBe(false)
    await user.clear(within(dialog).getByLabelText(/Public endpoint/))
    await user.type(within(dialog).getByLabelText(/Public endpoint/), '1.2.3.4:51820')
    await user.click(within(dialog).getByRole('button', { name: 'Create gateway' }))
    expect(await within(dialog).findByText('overlaps gateway gw-0')).toHaveClass('field-error')
  })
})

describe('audit log', () => {
  it('sends filters as query parameters and expands details', async () => {
    const user = userEvent.setup()
    const row: AuditLog = {
      id: 7, at: '2026-01-02T03:04:05Z', actor_type: 'user', actor_id: '2', action: 'device.revoke',
      target_type: 'device', target_id: '9', ip: '127.0.0.1', details: { reason: 'lost laptop' },
    }
    const { server } = renderApp('/audit', { ...lookups, 'GET /audit-logs': () => json(200, page([row])) })
    expect(await screen.findByText('device.revoke', { selector: 'td' })).toBeInTheDocument()
    await user.type(screen.getByLabelText('Action'), 'device.revoke')
    await user.selectOptions(screen.getByLabelText('Target type'), 'device')
    await user.type(screen.getByLabelText('From (UTC)'), '2026-01-01T00:00')
    await user.click(screen.getByRole('button', { name: 'Apply filters' }))
    await waitFor(() => {
      const q = server.requests.filter((r) => r.path === '/audit-logs').at(-1)?.query
      expect(q?.get('action')).toBe('device.revoke')
      expect(q?.get('target_type')).toBe('device')
      expect(q?.get('since')).toBe('2026-01-01T00:00:00Z')
    })
    await user.click(screen.getByRole('button', { name: 'Details' }))
    expect(screen.getByText(/lost laptop/)).toBeInTheDocument()
  })

  it('shows a bad filter next to its field', async () => {
    renderApp('/audit?since=junk', {
      ...lookups,
      'GET /audit-logs': () => apiError(400, 'validation_error', 'The request is invalid.', { since: ['Not a valid datetime.'] }),
    })
    expect(await screen.findByText('Not a valid datetime.')).toHaveClass('field-error')
  })
})

describe('routing', () => {
  it('shows the 404 page for unknown paths', async () => {
    renderApp('/no/such/page', {})
    expect(await screen.findByRole('heading', { name: 'Page not found' })).toBeInTheDocument()
  })

  it('signs out from the header', async () => {
    const user = userEvent.setup()
    const { server, client } = renderApp('/', {
      ...lookups,
      'GET /dashboard': () => json(200, { users: 0, devices: { active: 0, revoked: 0 }, gateways: { online: 0, offline: 0 }, recent_enrollments: [], recent_audit: [] }),
      'POST /auth/logout': () => new Response(null, { status: 204 }),
    })
    expect(await screen.findByText('No device has enrolled yet.')).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Sign out' }))
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeInTheDocument()
    expect(screen.queryByText(/session has ended/)).not.toBeInTheDocument()
    expect(server.requests.some((r) => r.path === '/auth/logout')).toBe(true)
    expect(client.signedIn).toBe(false)
  })
})
