// Routes. Unknown paths inside the app render the 404 page; the server falls back to
// index.html for every non-/api path, so deep links and reloads land here.

import { Navigate, Route, Routes, useLocation } from 'react-router-dom'
import type { ReactNode } from 'react'
import { useAuth } from './auth'
import { Layout } from './components/Layout'
import { Loading } from './components/ui'
import { AuditPage } from './pages/Audit'
import { AuthCallbackPage } from './pages/AuthCallback'
import { DashboardPage } from './pages/Dashboard'
import { DeviceDetailPage } from './pages/DeviceDetail'
import { DevicesPage } from './pages/Devices'
import { GatewaysPage } from './pages/Gateways'
import { NotFoundPage } from './pages/NotFound'
import { PoliciesPage } from './pages/Policies'
import { SignInPage } from './pages/SignIn'
import { TwoFactorPage } from './pages/TwoFactor'
import { UsersPage } from './pages/Users'

export const TWO_FACTOR_PATH = '/account/two-factor'

function RequireAuth({ children }: { children: ReactNode }) {
  const { user, ready, mfaSetupRequired } = useAuth()
  const location = useLocation()
  if (!ready) return <Loading what="Signing in" />
  if (!user) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />
  // The server lets this session reach only the TOTP setup until it is confirmed.
  if (mfaSetupRequired && location.pathname !== TWO_FACTOR_PATH) return <Navigate to={TWO_FACTOR_PATH} replace />
  return children
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<SignInPage />} />
      <Route path="/auth/callback" element={<AuthCallbackPage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<DashboardPage />} />
        <Route path="users" element={<UsersPage />} />
        <Route path="devices" element={<DevicesPage />} />
        <Route path="devices/:id" element={<DeviceDetailPage />} />
        <Route path="policies" element={<PoliciesPage />} />
        <Route path="gateways" element={<GatewaysPage />} />
        <Route path="audit" element={<AuditPage />} />
        <Route path="account/two-factor" element={<TwoFactorPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  )
}
