import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import type { Gateway } from '../api/types'
import { json, page } from '../test/fakeServer'
import { renderApp } from '../test/render'

const FP = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':')
const gw: Gateway = {
  id: 5,
  name: 'gw-1',
  endpoint: 'vpn.example.com:51820',
  public_key: 'Gw'.repeat(21) + 'A=',
  vpn_cidr: '10.8.0.0/24',
  vpn_cidr6: null,
  dns: [],
  mtu: 1420,
  enabled: true,
  status: 'online',
  last_seen_at: '2026-01-02T03:04:05Z',
  peer_count: 2,
  created_at: '2026-01-01T00:00:00Z',
  listen_port: 51820,
}
const info = {
  public_url: 'https://vpn.example.com:8443',
  tls: { fingerprint: FP, self_signed: true, subject: 'CN=vpn.example.com', not_after: '2028-01-01T00:00:00Z' },
}
const command = `nexavpn-gateway run --server https://vpn.example.com:8443 --token-file /etc/nexavpn/gateway.token --interface wg0 --listen-port 51820 --server-fingerprint ${FP}`

describe('gateway trust and tokens', () => {
  it('shows the server address, its fingerprint and each gateway public key', async () => {
    renderApp('/gateways', {
      'GET /gateways': () => json(200, page([gw, { ...gw, id: 6, name: 'gw-2', public_key: null }])),
      'GET /server-info': () => json(200, info),
    })
    expect(await screen.findByTestId('server-fingerprint')).toHaveTextContent(FP)
    expect(screen.getByTestId('server-url')).toHaveTextContent('https://vpn.example.com:8443')
    expect(screen.getByText(/Self-signed: desktop users compare this fingerprint/)).toBeInTheDocument()
    const keys = screen.getAllByTestId('gateway-public-key')
    expect(keys[0]).toHaveTextContent(gw.public_key as string)
    expect(keys[1]).toHaveTextContent('reported by the agent when it starts')
  })

  it('makes a new token after saying what follows, and shows it once with the pinned command', async () => {
    const user = userEvent.setup()
    const { server } = renderApp('/gateways', {
      'GET /gateways': () => json(200, page([gw])),
      'GET /server-info': () => json(200, info),
      'POST /gateways/5/token': () => json(200, { ...gw, agent_token: 'tok-new-456', agent_command: command }),
    })
    const row = (await screen.findByText('gw-1')).closest('tr') as HTMLElement
    await user.click(within(row).getByRole('button', { name: 'New token' }))
    const dialog = screen.getByRole('dialog')
    expect(dialog).toHaveTextContent('The current token stops working at once')
    expect(server.requests.some((r) => r.method === 'POST')).toBe(false) // nothing before confirming
    await user.click(within(dialog).getByRole('button', { name: 'Make a new token' }))
    expect(await screen.findByTestId('agent-token')).toHaveTextContent('tok-new-456')
    expect(screen.getByTestId('agent-command')).toHaveTextContent(command)
    expect(screen.getByText(/pins its SHA-256 fingerprint/)).toBeInTheDocument()
    expect(server.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(['/gateways/5/token'])
  })

  it('confirms a saved edit and a delete in words', async () => {
    const user = userEvent.setup()
    renderApp('/gateways', {
      'GET /gateways': () => json(200, page([gw])),
      'PATCH /gateways/5': () => json(200, { ...gw, mtu: 1380 }),
      'DELETE /gateways/5': () => new Response(null, { status: 204 }),
    })
    const row = (await screen.findByText('gw-1')).closest('tr') as HTMLElement
    await user.click(within(row).getByRole('button', { name: 'Edit' }))
    const dialog = screen.getByRole('dialog')
    await user.clear(within(dialog).getByLabelText('MTU'))
    await user.type(within(dialog).getByLabelText('MTU'), '1380')
    await user.click(within(dialog).getByRole('button', { name: 'Save' }))
    expect(await screen.findByRole('status')).toHaveTextContent('Gateway gw-1 saved.')
    await user.click(within(row).getByRole('button', { name: 'Delete' }))
    const confirm = screen.getByRole('dialog')
    expect(confirm).toHaveTextContent('Its agent token stops working at once')
    await user.click(within(confirm).getByRole('button', { name: 'Delete gateway' }))
    expect(await screen.findByText('Gateway gw-1 deleted.')).toBeInTheDocument()
  })
})
