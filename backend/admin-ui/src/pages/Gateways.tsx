// Gateways: create (agent token shown once, with the command that starts the agent), edit, new
// token, delete; the server's address and certificate fingerprint on top.

import { useState } from 'react'
import type { FormEvent } from 'react'
import type { Gateway, GatewayCreated, GatewayWrite } from '../api/types'
import { useApi } from '../auth'
import { ListShell } from '../components/ListShell'
import { Badge, ConfirmDialog, CopyButton, Field, FormError, Modal, fieldErrorsOf } from '../components/ui'
import { ServerIdentity } from '../components/ServerIdentity'
import { fmtTime } from '../format'
import { useQuery } from '../hooks'
import { cidrError, endpointError, ipError, nameError, splitList } from '../validation'

const PER_PAGE = 50
export const TOKEN_FILE = '/etc/nexavpn/gateway.token'

type Dialog =
  | { kind: 'create' }
  | { kind: 'edit'; gateway: Gateway }
  | { kind: 'delete'; gateway: Gateway }
  | { kind: 'token'; gateway: Gateway }

export function GatewaysPage() {
  const api = useApi()
  const [page, setPage] = useState(1)
  const [dialog, setDialog] = useState<Dialog | null>(null)
  const [created, setCreated] = useState<GatewayCreated | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const list = useQuery(() => api.listGateways({ page, per_page: PER_PAGE }), [api, page])
  const close = () => setDialog(null)

  return (
    <section>
      <div className="page-head">
        <h1>Gateways</h1>
        <button type="button" className="primary" onClick={() => setDialog({ kind: 'create' })}>
          New gateway
        </button>
      </div>
      <ServerIdentity />
      {notice && (
        <div className="alert alert-success" role="status">
          {notice}
        </div>
      )}
      {created && <AgentToken gateway={created} onDone={() => setCreated(null)} />}
      <ListShell
        query={list}
        empty="No gateways yet. Create one, then start the agent on the gateway host."
        paging={{ page, perPage: PER_PAGE, onPage: setPage }}
        columns={
          <>
            <th>Name</th>
            <th>Status</th>
            <th>Endpoint</th>
            <th>Public key</th>
            <th>VPN network</th>
            <th>Peers</th>
            <th>Last seen</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </>
        }
        rowKey={(g) => String(g.id)}
        row={(g) => (
          <tr data-gateway={g.name}>
            <td>
              <strong>{g.name}</strong> {!g.enabled && <Badge tone="neutral">disabled</Badge>}
            </td>
            <td>{g.status === 'online' ? <Badge tone="good">online</Badge> : <Badge tone="bad">offline</Badge>}</td>
            <td className="mono">{g.endpoint}</td>
            <td className="mono key-cell" data-testid="gateway-public-key">
              {g.public_key ?? <span className="muted">reported by the agent when it starts</span>}
            </td>
            <td className="mono">
              {g.vpn_cidr}
              {g.vpn_cidr6 && <div>{g.vpn_cidr6}</div>}
            </td>
            <td>{g.peer_count}</td>
            <td className="nowrap">{fmtTime(g.last_seen_at)}</td>
            <td className="row-actions">
              <button type="button" className="button-small" onClick={() => setDialog({ kind: 'edit', gateway: g })}>
                Edit
              </button>
              <button type="button" className="button-small" onClick={() => setDialog({ kind: 'token', gateway: g })}>
                New token
              </button>
              <button type="button" className="button-small danger" onClick={() => setDialog({ kind: 'delete', gateway: g })}>
                Delete
              </button>
            </td>
          </tr>
        )}
      />
      {dialog?.kind === 'create' && (
        <GatewayForm
          onClose={close}
          onSaved={(g) => {
            setDialog(null)
            if ('agent_token' in g) setCreated(g)
            setNotice(`Gateway ${g.name} created.`)
            list.reload()
          }}
        />
      )}
      {dialog?.kind === 'edit' && (
        <GatewayForm
          gateway={dialog.gateway}
          onClose={close}
          onSaved={(g) => {
            setDialog(null)
            setNotice(`Gateway ${g.name} saved. Devices on it receive the changed profile on their next sync.`)
            list.reload()
          }}
        />
      )}
      {dialog?.kind === 'delete' && (
        <ConfirmDialog
          title="Delete gateway"
          confirmLabel="Delete gateway"
          onClose={close}
          onConfirm={async () => {
            await api.deleteGateway(dialog.gateway.id)
            setNotice(`Gateway ${dialog.gateway.name} deleted.`)
            list.reload()
          }}
        >
          <p>
            Delete <strong>{dialog.gateway.name}</strong>? Its agent token stops working at once and the agent on that
            host can no longer fetch peers; the WireGuard interface there stays up until you remove it. A gateway that
            active devices still use cannot be deleted.
          </p>
        </ConfirmDialog>
      )}
      {dialog?.kind === 'token' && (
        <ConfirmDialog
          title="New agent token"
          confirmLabel="Make a new token"
          onClose={close}
          onConfirm={async () => {
            setCreated(await api.newGatewayToken(dialog.gateway.id))
            setNotice(null)
          }}
        >
          <p>
            Make a new agent token for <strong>{dialog.gateway.name}</strong>? The current token stops working at once:
            the agent on that host keeps its peers but gets no changes (and shows offline) until you put the new token in
            its token file and restart it.
          </p>
        </ConfirmDialog>
      )}
    </section>
  )
}

/** The one time the agent token is visible: copy it, then start the agent with it. */
export function AgentToken({ gateway, onDone }: { gateway: GatewayCreated; onDone: () => void }) {
  const command = gateway.agent_command
  const pinned = command.includes('--server-fingerprint')
  return (
    <div className="card token-card" role="region" aria-label="Agent token">
      <h2>Agent token for {gateway.name}</h2>
      <p>
        <strong>This token is shown only once.</strong> Copy it now: it cannot be shown again (use “New token” in the
        list to replace it).
      </p>
      <div className="copy-row">
        <code className="secret" data-testid="agent-token">
          {gateway.agent_token}
        </code>
        <CopyButton text={gateway.agent_token} label="Copy token" />
      </div>
      <p>
        On the gateway host, save it to <code>{TOKEN_FILE}</code> (readable by root only, mode 600), then start the
        agent:
      </p>
      <div className="copy-row">
        <code data-testid="agent-command">{command}</code>
        <CopyButton text={command} label="Copy command" />
      </div>
      {pinned && (
        <p className="muted">
          This server uses a self-signed certificate, so the command pins its SHA-256 fingerprint
          (--server-fingerprint); the agent refuses any other certificate.
        </p>
      )}
      <div className="actions">
        <button type="button" onClick={onDone}>
          I have saved the token
        </button>
      </div>
    </div>
  )
}

interface FormProps {
  gateway?: Gateway
  onClose: () => void
  onSaved: (g: Gateway | GatewayCreated) => void
}

function GatewayForm({ gateway, onClose, onSaved }: FormProps) {
  const api = useApi()
  const [name, setName] = useState(gateway?.name ?? '')
  const [endpoint, setEndpoint] = useState(gateway?.endpoint ?? '')
  const [vpnCidr, setVpnCidr] = useState(gateway?.vpn_cidr ?? '10.8.0.0/24')
  const [vpnCidr6, setVpnCidr6] = useState(gateway?.vpn_cidr6 ?? '')
  const [dns, setDns] = useState(gateway?.dns.join(', ') ?? '')
  const [mtu, setMtu] = useState(String(gateway?.mtu ?? 1420))
  const [enabled, setEnabled] = useState(gateway?.enabled ?? true)
  const [local, setLocal] = useState<Record<string, string>>({})
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const problems: Record<string, string> = {}
    const bad = (field: string, msg: string | null, label: string) => {
      if (msg) problems[field] = `${label} ${msg}.`
    }
    bad('name', nameError(name), 'Name')
    bad('endpoint', endpointError(endpoint), 'Endpoint')
    bad('vpn_cidr', cidrError(vpnCidr), 'VPN network')
    if (vpnCidr.trim() && !vpnCidr.includes('/')) problems.vpn_cidr = 'VPN network needs a prefix length, e.g. /24.'
    if (vpnCidr6.trim()) bad('vpn_cidr6', cidrError(vpnCidr6), 'IPv6 VPN network')
    const dnsList = splitList(dns)
    for (const ip of dnsList) bad('dns', ipError(ip), 'Each DNS server')
    const mtuNumber = Number(mtu)
    if (!/^[0-9]{1,5}$/.test(mtu.trim()) || mtuNumber < 1) problems.mtu = 'MTU must be a whole number.'
    setLocal(problems)
    if (Object.keys(problems).length) return
    const body: GatewayWrite = {
      name: name.trim(),
      endpoint: endpoint.trim(),
      vpn_cidr: vpnCidr.trim(),
      vpn_cidr6: vpnCidr6.trim() || null,
      dns: dnsList,
      mtu: mtuNumber,
      enabled,
    }
    setBusy(true)
    setError(null)
    try {
      onSaved(gateway ? await api.updateGateway(gateway.id, body) : await api.createGateway(body))
    } catch (exc) {
      setError(exc)
      setBusy(false)
    }
  }
  const server = fieldErrorsOf(error)
  const err = (field: string) => local[field] ?? server[field]

  return (
    <Modal title={gateway ? `Edit gateway ${gateway.name}` : 'New gateway'} onClose={onClose} wide>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <FormError error={error} fields={['name', 'endpoint', 'vpn_cidr', 'vpn_cidr6', 'dns', 'mtu', 'enabled']} />
        <Field label="Name" error={err('name')}>
          {(id, d) => <input id={id} name="name" value={name} onChange={(e) => setName(e.target.value)} aria-describedby={d} />}
        </Field>
        <Field label="Public endpoint" error={err('endpoint')} hint="host:port that clients connect to, e.g. vpn.example.com:51820.">
          {(id, d) => (
            <input id={id} name="endpoint" value={endpoint} onChange={(e) => setEndpoint(e.target.value)} aria-describedby={d} />
          )}
        </Field>
        <div className="field-row">
          <Field label="VPN network (IPv4)" error={err('vpn_cidr')}>
            {(id, d) => (
              <input id={id} name="vpn_cidr" value={vpnCidr} onChange={(e) => setVpnCidr(e.target.value)} aria-describedby={d} />
            )}
          </Field>
          <Field label="VPN network (IPv6)" error={err('vpn_cidr6')} hint="Optional, e.g. fd8a::/64.">
            {(id, d) => (
              <input id={id} name="vpn_cidr6" value={vpnCidr6} onChange={(e) => setVpnCidr6(e.target.value)} aria-describedby={d} />
            )}
          </Field>
        </div>
        <div className="field-row">
          <Field label="DNS servers" error={err('dns')} hint="Comma-separated IP addresses; optional.">
            {(id, d) => <input id={id} name="dns" value={dns} onChange={(e) => setDns(e.target.value)} aria-describedby={d} />}
          </Field>
          <Field label="MTU" error={err('mtu')}>
            {(id, d) => (
              <input id={id} name="mtu" inputMode="numeric" value={mtu} onChange={(e) => setMtu(e.target.value)} aria-describedby={d} />
            )}
          </Field>
        </div>
        <label className="check">
          <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
          (new devices may be placed on it)
        </label>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : gateway ? 'Save' : 'Create gateway'}
          </button>
        </div>
      </form>
    </Modal>
  )
}
