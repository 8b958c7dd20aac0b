// The password rules, visible while typing (not only after a refused submit).

import { PASSWORD_MAX, PASSWORD_MIN } from '../validation'

export function PasswordRules({ password, id }: { password: string; id?: string }) {
  const long = password.length >= PASSWORD_MIN
  const short = password.length <= PASSWORD_MAX
  return (
    <ul className="password-rules" id={id} aria-label="Password rules">
      <li className={long ? 'ok' : undefined}>
        {long ? '✓ ' : ''}At least {PASSWORD_MIN} characters{password ? ` (now ${password.length})` : ''}
      </li>
      {!short && <li>At most {PASSWORD_MAX} characters</li>}
      <li className="muted">Any characters; a long passphrase is better than a short complex one.</li>
    </ul>
  )
}
