import { Link } from 'react-router-dom'
import { useApi } from '../auth'
import { DeviceStatusBadge, PendingQueue } from '../components/devices'
import { ServerIdentity } from '../components/ServerIdentity'
import { Empty, ErrorMessage, Loading } from '../components/ui'
import { fmtTime } from '../format'
import { useLookups, useQuery } from '../hooks'

export function DashboardPage() {
  const api = useApi()
  const { data, error, loading, reload } = useQuery(() => api.dashboard(), [api])
  const { userName, gatewayName } = useLookups()

  return (
    <section>
      <h1>Dashboard</h1>
      <ServerIdentity />
      <ErrorMessage error={error} />
      {loading && <Loading />}
      {data && (
        <>
          <div className="stats">
            <Link className="stat card" to="/users">
              <span className="stat-value" data-testid="stat-users">{data.users}</span>
              <span className="stat-label">Users</span>
            </Link>
            <Link className="stat card" to="/devices?status=active">
              <span className="stat-value" data-testid="stat-devices-active">{data.devices.active}</span>
              <span className="stat-label">Active devices</span>
            </Link>
            <Link className="stat card" to="/devices?status=pending">
              <span className="stat-value" data-testid="stat-devices-pending">{data.devices.pending ?? 0}</span>
              <span className="stat-label">Awaiting approval</span>
            </Link>
            <Link className="stat card" to="/devices?status=revoked">
              <span className="stat-value" data-testid="stat-devices-revoked">{data.devices.revoked}</span>
              <span className="stat-label">Revoked devices</span>
            </Link>
            <Link className="stat card" to="/gateways">
              <span className="stat-value" data-testid="stat-gateways-online">{data.gateways.online}</span>
              <span className="stat-label">Gateways online</span>
            </Link>
            <Link className="stat card" to="/gateways">
              <span className="stat-value" data-testid="stat-gateways-offline">{data.gateways.offline}</span>
              <span className="stat-label">Gateways offline</span>
            </Link>
          </div>

          {(data.devices.pending ?? 0) > 0 && <PendingQueue onApproved={reload} />}

          <div className="two-col">
            <div className="card">
              <h2>Recent enrollments</h2>
              {data.recent_enrollments.length === 0 ? (
                <Empty>No device has enrolled yet.</Empty>
              ) : (
                <div className="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th>Device</th>
                        <th>User</th>
                        <th>VPN IP</th>
                        <th>Gateway</th>
                        <th>Enrolled</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.recent_enrollments.map((d) => (
                        <tr key={String(d.id)}>
                          <td>
                            <Link to={`/devices/${encodeURIComponent(String(d.id))}`}>{d.name}</Link>{' '}
                            {d.status !== 'active' && <DeviceStatusBadge status={d.status} />}
                          </td>
                          <td>{userName(d.user_id)}</td>
                          <td className="mono">{d.vpn_ip ?? '—'}</td>
                          <td>{gatewayName(d.gateway_id)}</td>
                          <td className="nowrap">{fmtTime(d.created_at)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </div>
            <div className="card">
              <h2>Recent audit events</h2>
              {data.recent_audit.length === 0 ? (
                <Empty>No audit events yet.</Empty>
              ) : (
                <div className="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th>When</th>
                        <th>Action</th>
                        <th>Actor</th>
                        <th>Target</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.recent_audit.map((a) => (
                        <tr key={String(a.id)}>
                          <td className="nowrap">{fmtTime(a.at)}</td>
                          <td className="mono">{a.action}</td>
                          <td>
                            {a.actor_type === 'user' ? userName(a.actor_id) : a.actor_type}
                          </td>
                          <td>{a.target_type ? `${a.target_type} ${a.target_id ?? ''}` : '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              <p>
                <Link to="/audit">Full audit log ›</Link>
              </p>
            </div>
          </div>
        </>
      )}
    </section>
  )
}
