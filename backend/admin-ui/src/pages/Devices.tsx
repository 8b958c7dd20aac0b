// Devices: filter by user, status and gateway (kept in the URL so links and reloads keep them);
// the approval queue on top; each row shows the key's start so a revoked device and its
// replacement (same name, same user) are told apart.

import { Link, useSearchParams } from 'react-router-dom'
import { useApi } from '../auth'
import { DeviceStatusBadge, KeyFingerprint, PendingQueue, historyHref } from '../components/devices'
import { ListShell } from '../components/ListShell'
import { Badge } from '../components/ui'
import { fmtTime } from '../format'
import { useLookups, useQuery } from '../hooks'

const PER_PAGE = 25

export function DevicesPage() {
  const api = useApi()
  const [params, setParams] = useSearchParams()
  const page = Math.max(1, Number(params.get('page') ?? '1') || 1)
  const userId = params.get('user_id') ?? ''
  const status = params.get('status') ?? ''
  const gatewayId = params.get('gateway_id') ?? ''
  const { users, gateways, userName, gatewayName } = useLookups()
  const list = useQuery(
    () =>
      api.listDevices({
        page,
        per_page: PER_PAGE,
        user_id: userId || undefined,
        status: status || undefined,
        gateway_id: gatewayId || undefined,
      }),
    [api, page, userId, status, gatewayId],
  )

  const setFilter = (key: string, value: string) => {
    const p = new URLSearchParams(params)
    if (value) p.set(key, value)
    else p.delete(key)
    p.delete('page')
    setParams(p)
  }
  const filtered = Boolean(userId || status || gatewayId)

  return (
    <section>
      <div className="page-head">
        <h1>Devices</h1>
      </div>
      <div className="toolbar filters">
        <label>
          User
          <select name="user_id" value={userId} onChange={(e) => setFilter('user_id', e.target.value)}>
            <option value="">All users</option>
            {users.map((u) => (
              <option key={String(u.id)} value={String(u.id)}>
                {u.username}
              </option>
            ))}
            {userId && !users.some((u) => String(u.id) === userId) && <option value={userId}>#{userId}</option>}
          </select>
        </label>
        <label>
          Status
          <select name="status" value={status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">Any status</option>
            <option value="active">active</option>
            <option value="pending">awaiting approval</option>
            <option value="revoked">revoked</option>
          </select>
        </label>
        <label>
          Gateway
          <select name="gateway_id" value={gatewayId} onChange={(e) => setFilter('gateway_id', e.target.value)}>
            <option value="">All gateways</option>
            {gateways.map((g) => (
              <option key={String(g.id)} value={String(g.id)}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        {filtered && (
          <button type="button" onClick={() => setParams(new URLSearchParams())}>
            Clear filters
          </button>
        )}
      </div>
      {status !== 'revoked' && <PendingQueue onApproved={() => list.reload()} />}
      <ListShell
        query={list}
        empty={
          filtered
            ? 'No device matches these filters.'
            : 'No devices yet. Devices appear here when users enroll them with the NexaVPN client.'
        }
        paging={{
          page,
          perPage: PER_PAGE,
          onPage: (p) => {
            const next = new URLSearchParams(params)
            next.set('page', String(p))
            setParams(next)
          },
        }}
        columns={
          <>
            <th>Device</th>
            <th>User</th>
            <th>Platform</th>
            <th>Status</th>
            <th>Key</th>
            <th>VPN IP</th>
            <th>Gateway</th>
            <th>Last handshake</th>
            <th />
          </>
        }
        rowKey={(d) => String(d.id)}
        row={(d) => (
          <tr data-device-id={String(d.id)}>
            <td>
              <Link to={`/devices/${encodeURIComponent(String(d.id))}`}>{d.name}</Link>
            </td>
            <td>{userName(d.user_id)}</td>
            <td>{d.platform}</td>
            <td>
              <DeviceStatusBadge status={d.status} />{' '}
              {d.status === 'active' && d.online && <Badge tone="good">online</Badge>}
              {d.rotation_required && <Badge tone="warn">rotation required</Badge>}
            </td>
            <td>
              <KeyFingerprint publicKey={d.public_key} />
            </td>
            <td className="mono vpn-ip">{d.vpn_ip ?? '—'}</td>
            <td>{gatewayName(d.gateway_id)}</td>
            <td className="nowrap">{fmtTime(d.last_handshake_at)}</td>
            <td>
              <Link to={historyHref(d.id)} aria-label={`History of ${d.name}`}>
                History
              </Link>
            </td>
          </tr>
        )}
      />
    </section>
  )
}
