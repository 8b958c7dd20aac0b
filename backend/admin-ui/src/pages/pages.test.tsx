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
  sign_in_method: 'password',
  sso_provider: null,
  totp_enabled: false,
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
      target_type: 'device', target_id: '9', ip: '127.0.0.1', details: {}, actor_name: 'alice', target_name: 'laptop',
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

describe('device trust', () => {
  const pendingPhone: Device = {
    ...laptop,
    id: 10,
    name: 'alice-phone',
    status: 'pending',
    public_key: 'Pq7xZ2Lm' + 'a'.repeat(35) + '=',
    vpn_ip: '10.8.0.3',
  }
  const replacement: Device = { ...laptop, id: 11, public_key: 'NewKey12' + 'b'.repeat(35) + '=' }
  const revokedLaptop: Device = { ...laptop, status: 'revoked' }

  it('tells a revoked device from its replacement by status and key, with a history link', async () => {
    renderApp('/devices', {
      ...lookups,
      'GET /devices': (req) => json(200, page(req.query.get('status') === 'pending' ? [] : [revokedLaptop, replacement])),
    })
    const rows = await screen.findAllByRole('row')
    const old = rows.find((r) => r.getAttribute('data-device-id') === '9')!
    const fresh = rows.find((r) => r.getAttribute('data-device-id') === '11')!
    expect(within(old).getByText('revoked')).toBeInTheDocument()
    expect(within(old).getByTestId('key-fingerprint')).toHaveTextContent('kkkkkkkk…')
    expect(within(old).getByTestId('key-fingerprint')).toHaveAttribute('title', laptop.public_key)
    expect(within(fresh).getByText('active')).toBeInTheDocument()
    expect(within(fresh).getByTestId('key-fingerprint')).toHaveTextContent('NewKey12…')
    expect(within(old).getByRole('link', { name: 'History of alice-laptop' })).toHaveAttribute(
      'href',
      '/audit?target_type=device&target_id=9',
    )
    expect(screen.queryByRole('region', { name: 'Awaiting approval' })).not.toBeInTheDocument()
  })

  it('filters by pending and revoked status', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/devices', { ...lookups, 'GET /devices': () => json(200, page([laptop])) })
    await screen.findAllByText('10.8.0.2')
    const select = screen.getByRole('combobox', { name: 'Status' })
    expect(within(select).getAllByRole('option').map((o) => o.getAttribute('value'))).toEqual(['', 'active', 'pending', 'revoked'])
    await user.selectOptions(select, 'pending')
    await waitFor(() =>
      expect(server.requests.filter((r) => r.path === '/devices').at(-1)?.query.get('status')).toBe('pending'),
    )
  })

  it('approves a device from the queue on the devices page and refreshes the list', async () => {
    const user = userEvent.setup()
    let approved = false
    const { server } = renderApp('/devices', {
      ...lookups,
      'GET /devices': (req) => {
        if (req.query.get('status') === 'pending') return json(200, page(approved ? [] : [pendingPhone]))
        return json(200, page([laptop, approved ? { ...pendingPhone, status: 'active' } : pendingPhone]))
      },
      'POST /devices/10/approve': () => {
        approved = true
        return json(200, { ...pendingPhone, status: 'active', profile_revision: 4 })
      },
    })
    const queue = await screen.findByRole('region', { name: 'Awaiting approval' })
    expect(within(queue).getByText('alice-phone')).toBeInTheDocument()
    expect(within(queue).getByTestId('key-fingerprint')).toHaveTextContent('Pq7xZ2Lm…')
    expect(await screen.findByText('awaiting approval', { selector: '.badge' })).toBeInTheDocument()
    await user.click(within(queue).getByRole('button', { name: 'Approve alice-phone' }))
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Awaiting approval' })).not.toBeInTheDocument())
    expect(server.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(['/devices/10/approve'])
    await waitFor(() => expect(screen.queryByText('awaiting approval', { selector: '.badge' })).not.toBeInTheDocument())
  })

  it('counts pending devices on the dashboard and approves from there', async () => {
    const user = userEvent.setup()
    let pending = [pendingPhone]
    const { server } = renderApp('/', {
      ...lookups,
      'GET /dashboard': () =>
        json(200, {
          users: 2,
          devices: { active: 1, pending: pending.length, revoked: 0 },
          gateways: { online: 1, offline: 0 },
          recent_enrollments: [pendingPhone],
          recent_audit: [],
        }),
      'GET /devices': () => json(200, page(pending)),
      'POST /devices/10/approve': () => {
        pending = []
        return json(200, { ...pendingPhone, status: 'active' })
      },
    })
    expect(await screen.findByTestId('stat-devices-pending')).toHaveTextContent('1')
    expect(screen.getByTestId('stat-devices-pending').closest('a')).toHaveAttribute('href', '/devices?status=pending')
    const queue = await screen.findByRole('region', { name: 'Awaiting approval' })
    await user.click(within(queue).getByRole('button', { name: 'Approve alice-phone' }))
    await waitFor(() => expect(screen.getByTestId('stat-devices-pending')).toHaveTextContent('0'))
    expect(screen.queryByRole('region', { name: 'Awaiting approval' })).not.toBeInTheDocument()
    expect(server.requests.some((r) => r.method === 'POST' && r.path === '/devices/10/approve')).toBe(true)
  })

  it('approves a pending device from its page', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/devices/10', {
      ...lookups,
      'GET /devices/10': () => json(200, pendingPhone),
      'POST /devices/10/approve': () => json(200, { ...pendingPhone, status: 'active' }),
    })
    expect(await screen.findByTestId('device-status')).toHaveTextContent('awaiting approval')
    expect(screen.getByRole('link', { name: 'History' })).toHaveAttribute('href', '/audit?target_type=device&target_id=10')
    await user.click(screen.getByRole('button', { name: 'Approve' }))
    const dialog = screen.getByRole('dialog')
    expect(dialog).toHaveTextContent('Pq7xZ2Lm…')
    await user.click(within(dialog).getByRole('button', { name: 'Approve device' }))
    await waitFor(() => expect(screen.getByTestId('device-status')).toHaveTextContent('active'))
    expect(screen.queryByRole('button', { name: 'Approve' })).not.toBeInTheDocument()
    expect(server.requests.some((r) => r.method === 'POST' && r.path === '/devices/10/approve')).toBe(true)
  })

  it('says what happens to sessions when revoking, and ends the others only when asked', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/devices/9', {
      ...lookups,
      'GET /devices/9': () => json(200, laptop),
      'POST /devices/9/revoke': () => json(200, revokedLaptop),
    })
    await screen.findByTestId('device-vpn-ip')
    await user.click(screen.getByRole('button', { name: 'Revoke' }))
    const dialog = screen.getByRole('dialog')
    const effect = within(dialog).getByTestId('revoke-sessions-effect')
    await waitFor(() => expect(effect).toHaveTextContent(/other sessions \(the browser, other devices\) keep working/))
    expect(effect).toHaveTextContent('The sign-in that registered this device ends now')
    expect(effect).toHaveTextContent('kkkkkkkk…')
    const box = within(dialog).getByRole('checkbox', { name: /Also end all of alice's other sessions/ })
    expect(box).not.toBeChecked()
    await user.click(box)
    expect(effect).toHaveTextContent('All other sessions of alice end too')
    await user.click(within(dialog).getByRole('button', { name: 'Revoke device' }))
    await waitFor(() => expect(screen.getByTestId('device-status')).toHaveTextContent('revoked'))
    expect(server.requests.find((r) => r.path === '/devices/9/revoke')?.body).toEqual({ revoke_sessions: true })
    expect(screen.getByRole('status')).toHaveTextContent('every session of alice has ended')
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
      'POST /gateways': () =>
        json(201, {
          ...gw,
          endpoint: 'vpn.example.com:51821',
          agent_token: 'tok-secret-123',
          agent_command: 'nexavpn-gateway run --server https://vpn.example.com:8443 --token-file /etc/nexavpn/gateway.token --interface wg0 --listen-port 51821',
        }),
    })
    expect(await screen.findByText(/No gateways yet/)).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'New gateway' }))
    const dialog = screen.getByRole('dialog')
    await user.type(within(dialog).getByLabelText('Name'), 'gw-1')
    await user.type(within(dialog).getByLabelText(/Public endpoint/), 'vpn.example.com:51821')
    await user.click(within(dialog).getByRole('button', { name: 'Create gateway' }))
    expect(await screen.findByTestId('agent-token')).toHaveTextContent('tok-secret-123')
    expect(screen.getByTestId('agent-command')).toHaveTextContent(
      'nexavpn-gateway run --server https://vpn.example.com:8443 --token-file /etc/nexavpn/gateway.token --interface wg0 --listen-port 51821',
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
      target_type: 'device', target_id: '9', ip: '127.0.0.1', details: { reason: 'lost laptop' }, actor_name: 'alice', target_name: 'laptop',
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
