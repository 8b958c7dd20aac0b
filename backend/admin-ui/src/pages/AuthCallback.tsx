// Where the server sends the browser back after single sign-on: exchange the one-time code with
// this tab's PKCE verifier, then land where the admin was going.

import { useEffect, useRef } from 'react'
import { useLocation, useNavigate } from 'react-router-dom'
import { ApiError } from '../api/client'
import { useAuth } from '../auth'
import { Loading } from '../components/ui'
import { ssoErrorMessage, takePendingSso } from '../sso'

export function AuthCallbackPage() {
  const { finishSso } = useAuth()
  const location = useLocation()
  const navigate = useNavigate()
  const started = useRef(false)

  useEffect(() => {
    if (started.current) return // StrictMode runs effects twice; the code works once
    started.current = true
    const params = new URLSearchParams(location.search)
    const pending = takePendingSso()
    const fail = (message: string) =>
      navigate('/login', { replace: true, state: { ssoError: message, from: pending?.from } })
    if (!pending || params.get('state') !== pending.state) {
      fail('This sign-in did not start in this tab, or it was already used. Try again.')
      return
    }
    const error = params.get('error')
    const code = params.get('code')
    if (error || !code) {
      fail(ssoErrorMessage(error ?? 'invalid_request'))
      return
    }
    finishSso(code, pending.verifier)
      .then(() => navigate(pending.from || '/', { replace: true }))
      .catch((exc: unknown) => fail(exc instanceof ApiError ? exc.message : 'Single sign-on failed.'))
  }, [finishSso, location.search, navigate])

  return <Loading what="Signing in" />
}
