// The frame of every signed-in page: navigation, who is signed in, sign out.

import { NavLink, Outlet, useNavigate } from 'react-router-dom'
import { useAuth } from '../auth'

const LINKS: [string, string][] = [
  ['/', 'Dashboard'],
  ['/users', 'Users'],
  ['/devices', 'Devices'],
  ['/policies', 'Policies'],
  ['/gateways', 'Gateways'],
  ['/audit', 'Audit log'],
]

export function Layout() {
  const { user, signOut } = useAuth()
  const navigate = useNavigate()
  const leave = async () => {
    await signOut()
    navigate('/login', { replace: true })
  }
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">NexaVPN Admin</span>
        <nav className="nav" aria-label="Main">
          {LINKS.map(([to, label]) => (
            <NavLink key={to} to={to} end={to === '/'}>
              {label}
            </NavLink>
          ))}
        </nav>
        <div className="session">
          <span className="who" title="Signed in">
            {user?.username}
          </span>
          <NavLink to="/account/two-factor">Two-factor</NavLink>
          <button type="button" onClick={() => void leave()}>
            Sign out
          </button>
        </div>
      </header>
      <main className="content">
        <Outlet />
      </main>
    </div>
  )
}
