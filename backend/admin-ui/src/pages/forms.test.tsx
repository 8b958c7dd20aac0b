import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import type { AuditEntry, Policy, User } from '../api/types'
import { apiError, json, page } from '../test/fakeServer'
import { renderApp } from '../test/render'

const alice: User = {
  id: 2,
  username: 'alice',
  email: null,
  role: 'user',
  groups: [],
  disabled: false,
  created_at: '2026-01-02T03:04:05Z',
  sign_in_method: 'password',
  sso_provider: null,
  totp_enabled: false,
}
const office: Policy = {
  id: 3,
  name: 'office',
  description: '',
  enabled: true,
  user_ids: [2],
  groups: [],
  destinations: ['10.1.0.0/24'],
} as Policy

describe('password rules', () => {
  it('shows the rules before submit and refuses a short password without calling the API', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/users', { 'GET /users': () => json(200, page([alice])) })
    await user.click(await screen.findByRole('button', { name: 'New user' }))
    const dialog = screen.getByRole('dialog')
    expect(within(dialog).getByLabelText('Password rules')).toHaveTextContent('At least 8 characters')
    await user.type(within(dialog).getByLabelText('Username'), 'bob')
    await user.type(within(dialog).getByLabelText('Password'), 'short')
    expect(within(dialog).getByLabelText('Password rules')).toHaveTextContent('(now 5)')
    await user.click(within(dialog).getByRole('button', { name: 'Create user' }))
    expect(within(dialog).getByText('Password must be at least 8 characters.')).toHaveClass('field-error')
    expect(server.requests.some((r) => r.method === 'POST')).toBe(false)
    await user.type(within(dialog).getByLabelText('Password'), '-and-longer')
    expect(within(dialog).getByLabelText('Password rules')).toHaveTextContent('✓ At least 8 characters')
  })

  it('checks the reset password too and names the field instead of "The request is invalid."', async () => {
    const user = userEvent.setup()
    renderApp('/users', {
      'GET /users': () => json(200, page([alice])),
      'PATCH /users/2': () =>
        apiError(400, 'validation_error', 'The request is invalid.', { password: ['Password is too common.'] }),
    })
    const row = (await screen.findByText('alice')).closest('tr') as HTMLElement
    await user.click(within(row).getByRole('button', { name: 'Reset password' }))
    const dialog = screen.getByRole('dialog')
    await user.type(within(dialog).getByLabelText('New password'), 'abc')
    await user.click(within(dialog).getByRole('button', { name: 'Set password' }))
    expect(within(dialog).getByText('Password must be at least 8 characters.')).toBeInTheDocument()
    await user.type(within(dialog).getByLabelText('New password'), 'defghijk')
    await user.click(within(dialog).getByRole('button', { name: 'Set password' }))
    expect(await within(dialog).findByText('Password is too common.')).toHaveClass('field-error')
    const alerts = within(dialog).getAllByRole('alert')
    expect(alerts[0]).toHaveTextContent('Please correct the field marked below.')
    expect(dialog).not.toHaveTextContent('The request is invalid.')
  })

  it('says what deleting a user does', async () => {
    const user = userEvent.setup()
    renderApp('/users', { 'GET /users': () => json(200, page([alice])) })
    const row = (await screen.findByText('alice')).closest('tr') as HTMLElement
    await user.click(within(row).getByRole('button', { name: 'Delete' }))
    expect(screen.getByRole('dialog')).toHaveTextContent('Their devices are revoked at once')
  })
})

describe('policy save confirmation', () => {
  it('confirms a saved policy in words', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/policies', {
      'GET /users': () => json(200, page([alice])),
      'GET /gateways': () => json(200, page([])),
      'GET /policies': () => json(200, page([office])),
      'PATCH /policies/3': () => json(200, { ...office, destinations: ['10.1.0.0/24', '10.2.0.0/24'] }),
    })
    const row = (await screen.findByText('office')).closest('tr') as HTMLElement
    await user.click(within(row).getByRole('button', { name: 'Edit' }))
    const dialog = screen.getByRole('dialog')
    await user.click(within(dialog).getByRole('button', { name: 'Save' }))
    expect(await screen.findByRole('status')).toHaveTextContent('Policy office saved.')
    expect(server.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1)
    await user.click(within(row).getByRole('button', { name: 'Delete' }))
    expect(screen.getByRole('dialog')).toHaveTextContent('lose them within seconds')
  })
})

describe('audit by names', () => {
  it('filters by actor and target names and shows names next to ids', async () => {
    const user = userEvent.setup()
    const event: AuditEntry = {
      id: 1,
      at: '2026-01-02T03:04:05Z',
      actor_type: 'user',
      actor_id: '1',
      action: 'gateway.update',
      target_type: 'gateway',
      target_id: '5',
      ip: '127.0.0.1',
      details: { changed: ['agent_token'] },
      actor_name: 'root',
      target_name: 'edge-1',
    }
    const { server } = renderApp('/audit', {
      'GET /users': () => json(200, page([alice])),
      'GET /gateways': () => json(200, page([])),
      'GET /audit-logs': () => json(200, page([event])),
    })
    expect(await screen.findByText('root (#1)')).toBeInTheDocument()
    expect(screen.getByText('gateway edge-1 (#5)')).toBeInTheDocument()
    await user.type(screen.getByLabelText('Actor'), 'root')
    await user.type(screen.getByLabelText('Target'), 'edge-1')
    await user.click(screen.getByRole('button', { name: 'Apply filters' }))
    await screen.findByRole('button', { name: 'Clear' })
    const last = server.requests.filter((r) => r.path === '/audit-logs').at(-1)
    expect(last?.query.get('actor')).toBe('root')
    expect(last?.query.get('target')).toBe('edge-1')
    expect(last?.query.has('actor_id')).toBe(false)
    expect(screen.queryByLabelText(/Actor ID|Target ID/)).not.toBeInTheDocument()
  })
})
